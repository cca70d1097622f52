"""Stored conversations: list, search, rename, pin, delete with undo, export and import, and
the presets applied to them. The same calls serve the sidebar and `lantern history`."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import BinaryIO, Literal

from desktop.errors import InvalidConversationFile, LanternError
from desktop.services.files import read_file_at_most, write_file_atomically
from desktop.store.db import Database
from desktop.store.presets import PresetRecord, PresetRepository
from desktop.store.repositories import (
    ConversationRecord,
    ConversationRepository,
    MessageRepository,
)
from desktop.store.search import MessageSearch, SearchHit
from desktop.tasks.conversation_files import (
    parse_conversation_file,
    to_html,
    to_json,
    to_markdown,
)

ExportFormat = Literal["md", "json", "html"]
# A deleted conversation can be brought back this long (the window's Undo), then it goes.
UNDO_WINDOW = timedelta(minutes=10)
# A conversation file is parsed whole (JSON); a chat of a million words exports to ~10 MB.
IMPORT_LIMIT_BYTES = 64 * 10**6


class HistoryService:
    def __init__(self, db: Database) -> None:
        self.conversations = ConversationRepository(db)
        self.messages = MessageRepository(db)
        self._search = MessageSearch(db)
        self.presets = PresetRepository(db)
        self.conversations.purge_deleted(older_than=UNDO_WINDOW)

    def list_conversations(self) -> list[ConversationRecord]:
        """Pinned first, then the most recently active."""
        return self.conversations.list()

    def search(self, text: str, limit: int = 50) -> list[SearchHit]:
        return self._search.search(text, limit)

    def rename(self, conversation_id: int, title: str) -> ConversationRecord:
        title = " ".join(title.split())
        if not title:
            raise LanternError("A conversation needs a title.")
        return self.conversations.change(conversation_id, title=title[:200])

    def pin(self, conversation_id: int, pinned: bool = True) -> ConversationRecord:
        return self.conversations.change(conversation_id, pinned=pinned)

    def delete(self, conversation_id: int) -> None:
        """Hidden at once; `undo_delete` within UNDO_WINDOW brings it back."""
        self.conversations.delete(conversation_id)

    def undo_delete(self, conversation_id: int) -> ConversationRecord:
        return self.conversations.restore(conversation_id)

    def export(self, conversation_id: int, fmt: ExportFormat) -> str:
        conversation = self.conversations.get(conversation_id)
        if fmt == "json":
            return to_json(conversation, self.messages.all(conversation_id))
        thread = self.messages.thread(conversation_id)
        return to_markdown(conversation, thread) if fmt == "md" else to_html(conversation, thread)

    def export_file(self, conversation_id: int, path: Path, fmt: ExportFormat) -> None:
        """Write the export through a temporary file, so that a failed write never leaves half
        a file where the user's was."""
        write_file_atomically(path, self.export(conversation_id, fmt).encode("utf-8"))

    def import_text(self, text: str, source_name: str) -> ConversationRecord:
        """Every field is checked before anything is written, and the conversation is stored
        in one transaction: a file that is refused leaves nothing behind."""
        return self.conversations.insert(parse_conversation_file(text, source_name))

    def import_file(self, path: Path) -> ConversationRecord:
        data = read_file_at_most(
            path,
            IMPORT_LIMIT_BYTES,
            lambda size: _import_too_large(path.name, f"{size / 1e6:,.0f} MB"),
        )
        return self.import_bytes(data, path.name)

    def import_stream(self, stream: BinaryIO, source_name: str) -> ConversationRecord:
        """A conversation piped in (standard input): read one byte past the limit at most."""
        return self.import_bytes(stream.read(IMPORT_LIMIT_BYTES + 1), source_name)

    def import_bytes(self, data: bytes, source_name: str) -> ConversationRecord:
        if len(data) > IMPORT_LIMIT_BYTES:  # a stream, or a file that grew while being read
            raise _import_too_large(source_name, f"more than {IMPORT_LIMIT_BYTES // 10**6} MB")
        try:
            text = data.decode("utf-8-sig")  # a byte order mark, as some Windows editors write
        except UnicodeDecodeError as exc:
            raise InvalidConversationFile(
                f"{source_name} is not UTF-8 text (byte {exc.start} cannot be read); Lantern "
                "imports the JSON it exports."
            ) from exc
        return self.import_text(text, source_name)

    def apply_preset(self, conversation_id: int, name: str) -> ConversationRecord:
        preset: PresetRecord = self.presets.get(name)
        return self.conversations.change(
            conversation_id, system_prompt=preset.system_prompt, sampling=dict(preset.sampling)
        )


def _import_too_large(name: str, size: str) -> InvalidConversationFile:
    return InvalidConversationFile(
        f"{name} is {size}; Lantern imports conversation files of up to "
        f"{IMPORT_LIMIT_BYTES // 10**6} MB (the longest chats export to a few MB)."
    )
