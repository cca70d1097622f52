"""What the writing tools (Summarize, Translate) share, written once: they run in the
background lane of the engine pool with a model chosen among the installed ones or a remote
server's, lent for the whole run, and their saved sessions
(services/sessions.py) are also exported to a file. Each tool adds how it makes a session (a
run: services/runs.py) and what its export holds."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Generic, TypeVar

from desktop.engine.cancellation import Cancellation
from desktop.engine.pool import EnginePool, LentModel
from desktop.services.files import write_file_atomically
from desktop.services.models import ModelService
from desktop.services.sessions import SessionService
from desktop.store.sessions import SessionStore, SourceColumns
from desktop.tasks.chat import conversation_title
from desktop.tasks.document_export import ExportFormat
from desktop.tasks.documents import SourceText

if TYPE_CHECKING:
    from desktop.services.models import RunnableModel

RecordT = TypeVar("RecordT")
StatusT = TypeVar("StatusT", bound=str)


def source_columns(source: SourceText) -> SourceColumns:
    """What a session keeps of where its text came from."""
    return SourceColumns(
        title=source.name or conversation_title(source.text),
        source_name=source.name,
        source_hash=source.sha256,
    )


@dataclass(frozen=True)
class WritingOutcome(Generic[StatusT, RecordT]):
    """How a writing run ended (its status is not "running"), with its session as saved."""

    status: StatusT
    record: RecordT
    error: str | None = None  # why it failed, as saved


class WritingService(SessionService[RecordT]):
    # The session as a document: (session id, format, the tool's options) -> the file's bytes.
    export: Callable[..., bytes]

    def __init__(
        self,
        store: SessionStore[RecordT],
        models: ModelService,
        engines: EnginePool,
        task: str,
    ) -> None:
        super().__init__(store)
        self._models = models
        self._engines = engines
        self._task = task  # what the pool says holds a model: "summary", "translation"

    def lease(self, model: RunnableModel, cancelled: Cancellation | None = None) -> LentModel:
        """`model`, loaded, lent to a run for all its steps: a background lease. Waiting
        for it ends when `cancelled` is set (WaitCancelled)."""
        return self._engines.lease(model, "background", self._task, cancelled=cancelled)

    def preview_lease(self, model: RunnableModel) -> LentModel:
        """`model` lent for a moment to answer the user (a plan, a count): a preview lease,
        which pauses no task and unloads no model (ModelNotLoadedYet when it would take
        that)."""
        return self._engines.preview(model, "background", self._task)

    def model(self, model_id: str | None) -> RunnableModel:
        """The model to run (installed, or a remote server's): `model_id`, or the default."""
        return self._models.choose(model_id)

    def export_file(self, session_id: int, path: Path, fmt: ExportFormat, **options: bool) -> None:
        """The export written to `path` whole, or not at all."""
        write_file_atomically(path, self.export(session_id, fmt, **options))
