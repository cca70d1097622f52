"""The tables. Changing them means a new Alembic revision in migrations/versions/."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


class Conversation(Base):
    __tablename__ = "conversations"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    model_id: Mapped[str | None] = mapped_column(String(500))
    system_prompt: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, index=True)
    pinned: Mapped[bool] = mapped_column(default=False)
    # Deleted conversations are kept until the undo window has passed, then purged.
    deleted_at: Mapped[datetime | None] = mapped_column(index=True)
    # The message the shown branch ends at; None: the newest message.
    current_leaf_id: Mapped[int | None]
    sampling: Mapped[dict | None] = mapped_column(JSON)  # Sampling fields the user changed
    # drop_middle: keep the system prompt and latest turns | stop: refuse and say so
    context_policy: Mapped[str] = mapped_column(String(20), default="drop_middle")
    # Answer only from the conversation's libraries: "not in the documents" when none fits.
    documents_only: Mapped[bool] = mapped_column(default=False)


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_status", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    # The message this one answers or follows; siblings with one parent are branches.
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(20))
    content: Mapped[str] = mapped_column(Text, default="")
    # complete | streaming | stopped (by the user) | interrupted (crash) | failed
    status: Mapped[str] = mapped_column(String(20), default="complete")
    model_id: Mapped[str | None] = mapped_column(String(500))
    stats: Mapped[dict | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    # The process writing a streaming answer: if it is gone, the answer was interrupted.
    writer_pid: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)


class Download(Base):
    """A model download in the queue. The bytes themselves are in `.part` files on disk;
    this row says what to fetch, in what state, so the queue survives restarts and crashes."""

    __tablename__ = "downloads"
    __table_args__ = (Index("ix_downloads_status", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    repo: Mapped[str] = mapped_column(String(300))
    revision: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(500))  # the model file (or split stem) name
    quant: Mapped[str] = mapped_column(String(50))
    # [{"path": ..., "size": ..., "sha256": ...}] in order; one entry unless split
    parts: Mapped[list] = mapped_column(JSON)
    done_bytes: Mapped[int] = mapped_column(default=0)
    # queued | downloading | paused | failed | done | cancelled
    status: Mapped[str] = mapped_column(String(20), default="queued")
    error: Mapped[str | None] = mapped_column(Text)
    model_id: Mapped[str | None] = mapped_column(String(500))  # once installed
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)


class Preset(Base):
    """A named system prompt with sampling settings, applied to conversations."""

    __tablename__ = "presets"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    system_prompt: Mapped[str | None] = mapped_column(Text)
    sampling: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)


class WritingRunState:
    """The columns of a writing run (a summary, a translation) that its run keeps up to date:
    how the latest run over it went (RunStatus, store/sessions.py: running, complete,
    cancelled, failed, or interrupted by a crash), its error and timings, and the process
    writing it while it runs (a run whose process is gone was interrupted)."""

    status: Mapped[str] = mapped_column(String(20), default="running", index=True)
    error: Mapped[str | None] = mapped_column(Text)
    timings: Mapped[dict | None] = mapped_column(JSON)
    writer_pid: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now, index=True)


class Summary(WritingRunState, Base):
    """One summarize run: the source, the options, the chunk plan, the notes each part gave,
    the result, and how long each pass took. Re-runs of one source share its `source_hash`."""

    __tablename__ = "summaries"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    source_name: Mapped[str | None] = mapped_column(String(500))  # the file; None if pasted
    source_hash: Mapped[str] = mapped_column(String(64), index=True)  # sha256 of source_text
    source_text: Mapped[str] = mapped_column(Text)
    options: Mapped[dict] = mapped_column(JSON)
    model_id: Mapped[str | None] = mapped_column(String(500))
    plan: Mapped[dict | None] = mapped_column(
        JSON
    )  # {"chunk_tokens", "chunks": [[start, end, tokens]]}
    partials: Mapped[list] = mapped_column(JSON, default=list)  # the notes of each part, in order
    result: Mapped[str] = mapped_column(Text, default="")


class Translation(WritingRunState, Base):
    """A translation session: the document cut into segments, translated one by one."""

    __tablename__ = "translations"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    source_name: Mapped[str | None] = mapped_column(String(500))
    source_hash: Mapped[str] = mapped_column(String(64), index=True)
    source_language: Mapped[str | None] = mapped_column(String(20))  # a code; None: unknown
    target_language: Mapped[str] = mapped_column(String(20))
    tone: Mapped[str] = mapped_column(String(200), default="")
    glossary: Mapped[list] = mapped_column(JSON, default=list)  # [[term, translation], ...]
    model_id: Mapped[str | None] = mapped_column(String(500))


class TranslationSegment(Base):
    __tablename__ = "translation_segments"
    __table_args__ = (Index("ix_translation_segments_order", "translation_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    translation_id: Mapped[int] = mapped_column(ForeignKey("translations.id", ondelete="CASCADE"))
    position: Mapped[int]
    source: Mapped[str] = mapped_column(Text)  # the block as in the document
    prefix: Mapped[str] = mapped_column(String(50), default="")  # Markdown kept as is
    text: Mapped[str] = mapped_column(Text)  # what is translated: source without the prefix
    translatable: Mapped[bool] = mapped_column(default=True)
    separator: Mapped[str] = mapped_column(String(50), default="")
    suffix: Mapped[str] = mapped_column(String(200), default="")  # a setext underline, say
    continuation: Mapped[str] = mapped_column(String(50), default="")  # "> " on later lines
    translation: Mapped[str | None] = mapped_column(Text)
    # pending | done | edited (by hand) | failed
    status: Mapped[str] = mapped_column(String(20), default="pending")
    missing_terms: Mapped[list] = mapped_column(JSON, default=list)  # glossary terms not used
    stats: Mapped[dict | None] = mapped_column(JSON)


class PlaygroundRun(Base):
    """One prompt experiment: what was asked, with which settings, and every token answered."""

    __tablename__ = "playground_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    mode: Mapped[str] = mapped_column(String(10))  # "raw" or "chat"
    setup: Mapped[dict] = mapped_column(JSON)  # the editor: template, variables, examples
    prompt: Mapped[str] = mapped_column(Text)  # raw: the prompt; chat: the messages, rendered
    messages: Mapped[list | None] = mapped_column(JSON)  # chat: [[role, content], ...]
    parameters: Mapped[dict] = mapped_column(JSON)  # sampling, constraint, logprobs
    model_id: Mapped[str | None] = mapped_column(String(500))
    output: Mapped[str] = mapped_column(Text, default="")
    tokens: Mapped[list] = mapped_column(JSON, default=list)  # each with its alternatives
    stats: Mapped[dict | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), default="running", index=True)
    error: Mapped[str | None] = mapped_column(Text)
    writer_pid: Mapped[int | None]
    # Runs started side by side share the id of the first of them; lane 0 or 1 is the side.
    comparison_id: Mapped[int | None] = mapped_column(index=True)
    lane: Mapped[int] = mapped_column(default=0)
    # A run that went on from another one's token `branch_at`, with an alternative forced.
    branch_of: Mapped[int | None]
    branch_at: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now, index=True)


class PlaygroundPreset(Base):
    """Named parameters for the Playground: sampling, output constraint, alternatives shown."""

    __tablename__ = "playground_presets"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    parameters: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)


class Library(Base):
    """A named collection of the user's files and folders, whose passages chats can ask."""

    __tablename__ = "libraries"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class LibrarySource(Base):
    """A folder (watched: new, changed and deleted files are noticed) or a single file."""

    __tablename__ = "library_sources"
    __table_args__ = (UniqueConstraint("library_id", "path"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    library_id: Mapped[int] = mapped_column(ForeignKey("libraries.id", ondelete="CASCADE"))
    path: Mapped[str] = mapped_column(Text)
    is_folder: Mapped[bool]
    added_at: Mapped[datetime] = mapped_column(default=utc_now)


class LibraryFile(Base):
    """A readable file under a source, and where its indexing stands. The rows queued are the
    indexing queue: it survives restarts and crashes."""

    __tablename__ = "library_files"
    __table_args__ = (
        UniqueConstraint("library_id", "path"),
        Index("ix_library_files_status", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    library_id: Mapped[int] = mapped_column(ForeignKey("libraries.id", ondelete="CASCADE"))
    source_id: Mapped[int] = mapped_column(
        ForeignKey("library_sources.id", ondelete="CASCADE"), index=True
    )
    path: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(BigInteger)
    mtime_ns: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))  # of the contents last indexed
    embedder: Mapped[str | None] = mapped_column(String(500))  # the key its vectors carry
    # queued | indexing | indexed | failed
    status: Mapped[str] = mapped_column(String(20), default="queued")
    error: Mapped[str | None] = mapped_column(Text)
    # The process indexing it: if it is gone, the file goes back to the queue.
    writer_pid: Mapped[int | None]
    passages: Mapped[int] = mapped_column(default=0)
    indexed_at: Mapped[datetime | None]


class Passage(Base):
    """A piece of a file's text (`start`:`end` in the text read from it), searched by words
    (passages_fts, kept by triggers) and by meaning (the embedder's vec0 table)."""

    __tablename__ = "passages"

    id: Mapped[int] = mapped_column(primary_key=True)
    file_id: Mapped[int] = mapped_column(
        ForeignKey("library_files.id", ondelete="CASCADE"), index=True
    )
    ordinal: Mapped[int]
    start: Mapped[int]
    end: Mapped[int]
    page: Mapped[int | None]  # 1-based, PDF only
    heading: Mapped[str] = mapped_column(Text, default="")  # "Install > On Linux"
    text: Mapped[str] = mapped_column(Text)


class Embedder(Base):
    """An embedding model that vectors were made with: its vectors are in the vec0 table
    `passage_vectors_<id>`, created when its first vectors are saved (its dimension is known
    only then)."""

    __tablename__ = "embedders"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(500), unique=True)
    dimension: Mapped[int]


class ConversationLibrary(Base):
    """The libraries a conversation asks."""

    __tablename__ = "conversation_libraries"

    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    library_id: Mapped[int] = mapped_column(
        ForeignKey("libraries.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class MessageSource(Base):
    """A passage an answer was given, numbered as the answer cites it ([1], [2]). A copy, so
    the answer keeps its sources when the file changes or leaves the library."""

    __tablename__ = "message_sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int]
    path: Mapped[str] = mapped_column(Text)
    page: Mapped[int | None]
    heading: Mapped[str] = mapped_column(Text, default="")
    start: Mapped[int]
    end: Mapped[int]
    text: Mapped[str] = mapped_column(Text)
    score: Mapped[float]
