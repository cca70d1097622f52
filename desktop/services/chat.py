"""A chat turn: the user's message committed, the answer generated, streamed and saved.

`ChatService.send()` commits the user's message (and an empty answer marked 'streaming')
before anything else; iterating the returned `ChatTurn` loads the model if needed, streams
the answer and flushes it to the store at least every half second. However the turn ends,
the answer is kept: complete, stopped by the user, interrupted by an engine crash, or failed.

The CLI iterates a `ChatTurn` for the answer's text; the window runs a `ChatTurnRun` (a run,
services/runs.py), whose events also say when the message is stored and the model loaded.
What the window shows of a conversation (the branch, its arrows, the message to bring into
view) is one call too: `ChatService.thread_view()`.

A conversation may answer from libraries of the user's files (`choose_documents`): each turn
then retrieves passages for the question (follow-ups with the questions before them), fits
the best ones into what the context window leaves after the conversation and the answer,
numbers them in the system message for the model to cite, and saves them with the answer as
its sources (tasks/grounded.py). "Only from my documents" answers that nothing was found,
without generating, when no passage is close enough to the question.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from desktop.engine.cancellation import Cancellation
from desktop.engine.pool import EnginePool, LentModel
from desktop.engine.protocol import (
    ChatMessage,
    ContextPolicy,
    GenerationRequest,
    GenerationStats,
    ModelLoaded,
    Sampling,
)
from desktop.engine.remote import MESSAGE_OVERHEAD_TOKENS
from desktop.engine.text_model import TextModel, TextStream
from desktop.errors import EngineCrashed, EngineUnresponsive, LanternError, WaitCancelled
from desktop.services.models import ModelService
from desktop.services.runs import FLUSH_INTERVAL_S
from desktop.settings import Settings
from desktop.store.db import Database
from desktop.store.repositories import (
    ConversationRecord,
    ConversationRepository,
    MessageRecord,
    MessageRepository,
    MessageSource,
)
from desktop.tasks.chat import chat_messages, context_use, conversation_title
from desktop.tasks.grounded import (
    fit_passages,
    grounded_system_message,
    not_found_answer,
    passage_budget,
    relevant_passages,
    source_entry,
)
from desktop.tasks.sampling_fields import (
    CONTEXT_POLICIES,
    DEFAULT_CONTEXT_POLICY,
    SAMPLING_FIELDS,
    sampling_problem,
    usable_context_policy,
    usable_sampling,
)

if TYPE_CHECKING:
    from desktop.services.documents import DocumentService
    from desktop.services.models import RunnableModel

log = logging.getLogger(__name__)

# How a turn ended: its answer's status from then on.
AnswerStatus = Literal["complete", "stopped", "interrupted", "failed"]
# Passages a question retrieves; the best of them that fit the context window are given.
RETRIEVED_PASSAGES = 8


@dataclass(frozen=True)
class DocumentChoice:
    """The libraries a conversation answers from, and whether only from them."""

    libraries: tuple[str, ...]
    documents_only: bool


@dataclass(frozen=True)
class Grounding:
    """What a turn answered from documents is given: the system message with the numbered
    passages and those passages (its sources); or, with "only from my documents" and nothing
    close enough to the question, `not_found`."""

    system_prompt: str | None
    sources: tuple[MessageSource, ...] = ()
    not_found: bool = False


@dataclass(frozen=True)
class TurnOutcome:
    status: AnswerStatus
    answer: MessageRecord
    stats: GenerationStats | None
    model: ModelLoaded | None
    error: str | None = None


@dataclass(frozen=True)
class TurnStarted:
    """A turn's first event: the user's message is stored. The answer as stored (empty, or the
    text so far when continuing), and where each of the two stands among its alternatives."""

    conversation_id: int
    user: MessageRecord
    answer: MessageRecord
    user_branch: tuple[int, int]
    answer_branch: tuple[int, int]


@dataclass(frozen=True)
class ModelReady:
    """The turn's model is loaded (seconds, for a large one): the answer comes next."""

    model: ModelLoaded


# A ChatTurnRun's events: TurnStarted, ModelReady, then the answer's text, piece by piece.
TurnEvent = TurnStarted | ModelReady | str


@dataclass(frozen=True)
class ThreadView:
    """What the window shows of a conversation (ChatService.thread_view)."""

    conversation: ConversationRecord
    messages: list[MessageRecord]  # the branch shown, from its first message
    # (position, count) of each message shown that has alternatives: (2, 3) reads `< 2/3 >`.
    branches: dict[int, tuple[int, int]]
    focus: int | None = None  # the message to bring into view; None: the conversation's end


@dataclass(frozen=True)
class ConversationParameters:
    """What a conversation sets for itself (ChatService.set_parameters)."""

    system_prompt: str = ""  # "" for none
    sampling: dict[str, Any] = field(default_factory=dict)  # only the overridden fields
    context_policy: str = DEFAULT_CONTEXT_POLICY  # or "stop"

    @classmethod
    def of(cls, record: ConversationRecord) -> ConversationParameters:
        return cls(
            record.system_prompt or "", stored_sampling(record), stored_context_policy(record)
        )


def stored_sampling(record: ConversationRecord) -> dict[str, Any]:
    """The sampling a conversation set for itself, as far as it can be used: a value stored by
    an older Lantern (or by hand) that is of the wrong kind is left out, one out of range is
    brought within it, and the log says so. The conversation opens and goes on either way."""
    usable, notes = usable_sampling(record.sampling)
    if notes:
        log.warning("Conversation %s: stored sampling %s", record.id, "; ".join(notes))
    return usable


def stored_context_policy(record: ConversationRecord) -> ContextPolicy:
    policy = usable_context_policy(record.context_policy)
    if policy != record.context_policy:
        log.warning(
            "Conversation %s: unknown context policy %r, %s used",
            record.id,
            record.context_policy,
            policy,
        )
    return policy


def default_sampling(settings: Settings) -> dict[str, Any]:
    """What a conversation gets for each sampling field it does not set itself: the engine's
    defaults, under the app's settings."""
    defaults = {k: v for k, v in asdict(Sampling()).items() if k in SAMPLING_FIELDS}
    defaults.update(
        max_tokens=settings.max_tokens, temperature=settings.temperature, top_p=settings.top_p
    )
    return defaults


class ChatService:
    def __init__(
        self,
        db: Database,
        models: ModelService,
        engines: EnginePool,
        settings: Settings,
        documents: DocumentService | None = None,
    ) -> None:
        self.conversations = ConversationRepository(db)
        self.messages = MessageRepository(db)
        self._models = models
        self._engines = engines
        self._settings = settings
        self._documents = documents  # None: conversations answer from no library here

    def list_conversations(self) -> list[ConversationRecord]:
        return self.conversations.list()

    def conversation(self, conversation_id: int) -> tuple[ConversationRecord, list[MessageRecord]]:
        return self.conversations.get(conversation_id), self.messages.thread(conversation_id)

    def send(
        self,
        text: str,
        *,
        conversation_id: int | None = None,
        model_id: str | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
        parameters: ConversationParameters | None = None,
        documents: DocumentChoice | None = None,
    ) -> ChatTurn:
        """Commit the user's message and an empty answer; iterate the turn to generate it.
        A new conversation starts with `parameters` and answers from `documents`, if given
        (given for a conversation that goes on, they replace its choice)."""
        _check_not_empty(text)
        if conversation_id is not None:
            conversation = self.conversations.get(conversation_id)
            model = self._chosen_model(conversation, model_id)
            if documents is not None:
                self.choose_documents(
                    conversation_id, documents.libraries, documents_only=documents.documents_only
                )
        else:
            model = self._models.choose(model_id)
            chosen = documents or DocumentChoice((), documents_only=False)
            conversation = self.conversations.create(
                conversation_title(text),
                model_id=model.id,
                libraries=chosen.libraries,
                documents_only=chosen.documents_only,
            )
            if parameters is not None:
                conversation = self.set_parameters(
                    conversation.id,
                    system_prompt=parameters.system_prompt,
                    sampling=parameters.sampling,
                    context_policy=parameters.context_policy,
                )
        thread = self.messages.thread(conversation.id)
        user = self.messages.add(
            conversation.id, "user", text, parent_id=thread[-1].id if thread else None
        )
        return self._answer(conversation, [*thread, user], model, max_tokens, temperature)

    def regenerate(
        self,
        answer_id: int,
        *,
        model_id: str | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
    ) -> ChatTurn:
        """A new answer to the same message, as a branch beside the old one (which is kept)."""
        answer = self.messages.get(answer_id)
        if answer.role != "assistant" or answer.parent_id is None:
            raise LanternError("Only an answer can be regenerated.")
        conversation = self.conversations.get(answer.conversation_id)
        model = self._chosen_model(conversation, model_id)
        history = self.messages.path_to(answer.parent_id)
        return self._answer(conversation, history, model, max_tokens, temperature)

    def edit(
        self,
        message_id: int,
        text: str,
        *,
        model_id: str | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
    ) -> ChatTurn:
        """The user's message rewritten, as a new branch from the same point: the original
        message and everything after it stay, one branch away."""
        _check_not_empty(text)
        original = self.messages.get(message_id)
        if original.role != "user":
            raise LanternError("Only your own messages can be edited.")
        conversation = self.conversations.get(original.conversation_id)
        model = self._chosen_model(conversation, model_id)
        before = self.messages.path_to(original.parent_id) if original.parent_id else []
        user = self.messages.add(conversation.id, "user", text, parent_id=original.parent_id)
        return self._answer(conversation, [*before, user], model, max_tokens, temperature)

    def continue_answer(self, answer_id: int, *, max_tokens: int | None = None) -> ChatTurn:
        """Go on with an answer a crash, a kill or Stop cut short, from where it ended."""
        answer = self.messages.get(answer_id)
        if answer.role != "assistant" or answer.status not in ("interrupted", "stopped"):
            raise LanternError("Only an answer that was cut short can be continued.")
        if answer.parent_id is None:  # an imported conversation may begin with an answer
            raise LanternError("This answer follows no message of yours; it cannot be continued.")
        conversation = self.conversations.get(answer.conversation_id)
        model = self._chosen_model(conversation, answer.model_id)
        history = self.messages.path_to(answer.parent_id)
        answer = self.messages.resume(answer_id)
        return ChatTurn(
            self, conversation, history, answer, model,
            self._sampling(conversation, max_tokens, None),
            continuing=True,
        )  # fmt: skip

    def show_branch(self, message_id: int) -> list[MessageRecord]:
        """Show the branch through this message (one of its siblings' alternatives), as far as
        it was taken; the conversation's thread as it now reads."""
        message = self.messages.get(message_id)
        leaf = self.messages.newest_leaf_under(message_id)
        self.conversations.change(message.conversation_id, current_leaf_id=leaf)
        return self.messages.thread(message.conversation_id)

    def branches(self, message_id: int) -> tuple[int, int]:
        """(position, count) of this message among its alternatives: (2, 3) reads `< 2/3 >`."""
        siblings = [m.id for m in self.messages.siblings(message_id)]
        return siblings.index(message_id) + 1, len(siblings)

    def thread_view(
        self, conversation_id: int, *, through: int | None = None, step: int = 0
    ) -> ThreadView:
        """What the window shows of a conversation. Without `through`: the branch shown, at its
        end. With `through` (a search result): the branch through that message, which becomes
        the one shown if it was not. With `step` as well (the branch arrows, -1 or +1): the
        version of `through` that many places along its alternatives, and its branch."""
        focus = through
        if through is not None and step:
            ids = [m.id for m in self.messages.siblings(through)]
            focus = ids[max(0, min(len(ids) - 1, ids.index(through) + step))]
            thread = self.show_branch(focus)
        else:
            thread = self.messages.thread(conversation_id)
            if through is not None and all(m.id != through for m in thread):
                thread = self.show_branch(through)
        record = self.conversations.get(conversation_id)
        return ThreadView(record, thread, self._branch_positions(conversation_id, thread), focus)

    def _branch_positions(
        self, conversation_id: int, thread: list[MessageRecord]
    ) -> dict[int, tuple[int, int]]:
        """`branches()` for the messages of `thread` that have alternatives, from one read of
        the whole tree (oldest first, as `siblings()` orders them)."""
        siblings: dict[int | None, list[int]] = {}
        for message in self.messages.all(conversation_id):
            siblings.setdefault(message.parent_id, []).append(message.id)
        return {
            m.id: (ids.index(m.id) + 1, len(ids))
            for m in thread
            if len(ids := siblings.get(m.parent_id, [])) > 1
        }

    def _chosen_model(
        self, conversation: ConversationRecord, model_id: str | None
    ) -> RunnableModel:
        model = self._models.choose(model_id or conversation.model_id)
        if model.id != conversation.model_id:
            self.conversations.set_model(conversation.id, model.id)
        return model

    def _answer(
        self,
        conversation: ConversationRecord,
        history: list[MessageRecord],
        model: RunnableModel,
        max_tokens: int | None,
        temperature: float | None,
    ) -> ChatTurn:
        """An empty answer to the last message of `history`, committed; the turn that fills it."""
        answer = self.messages.add(
            conversation.id,
            "assistant",
            "",
            parent_id=history[-1].id,
            status="streaming",
            model_id=model.id,
        )
        sampling = self._sampling(conversation, max_tokens, temperature)
        return ChatTurn(self, conversation, history, answer, model, sampling)

    def _sampling(
        self, conversation: ConversationRecord, max_tokens: int | None, temperature: float | None
    ) -> Sampling:
        """The app's settings, then what the conversation changed, then this request's."""
        chosen = default_sampling(self._settings)
        chosen.update(stored_sampling(conversation))
        if max_tokens:
            chosen["max_tokens"] = max_tokens
        if temperature is not None:
            chosen["temperature"] = temperature
        return Sampling(**chosen)

    def set_parameters(
        self,
        conversation_id: int,
        *,
        system_prompt: str | None = None,
        sampling: dict[str, Any] | None = None,
        context_policy: str | None = None,
    ) -> ConversationRecord:
        """Remember a conversation's own system prompt, sampling and context policy."""
        changes: dict[str, Any] = {}
        if system_prompt is not None:
            changes["system_prompt"] = system_prompt.strip() or None
        if sampling is not None:
            for name, value in sampling.items():
                if (problem := sampling_problem(name, value)) is not None:
                    raise LanternError(f"Sampling: {problem}.")
            changes["sampling"] = sampling
        if context_policy is not None:
            if context_policy not in CONTEXT_POLICIES:
                raise LanternError(f"The context policy is one of {', '.join(CONTEXT_POLICIES)}.")
            changes["context_policy"] = context_policy
        return self.conversations.change(conversation_id, **changes)

    def documents_for(self, conversation_id: int) -> DocumentChoice:
        """The libraries the conversation answers from, and whether only from them."""
        record = self.conversations.get(conversation_id)
        return DocumentChoice(self.conversations.libraries(conversation_id), record.documents_only)

    def choose_documents(
        self, conversation_id: int, libraries: Sequence[str], *, documents_only: bool
    ) -> None:
        """Answer the conversation's next turns from `libraries` (none: from the model alone)
        and, with `documents_only`, only from them."""
        self.conversations.set_documents(conversation_id, libraries, documents_only=documents_only)

    def grounding(
        self,
        conversation: ConversationRecord,
        history: list[MessageRecord],
        model: TextModel,
        sampling: Sampling,
        *,
        given: tuple[MessageSource, ...] = (),
        continue_text: str = "",
    ) -> Grounding | None:
        """What a turn of a conversation with libraries is given (None: it has none): the
        passages found for its question that fit the model's context window beside the
        conversation and the answer, or `given` ones (an answer going on from where it was
        cut short keeps its sources). Without a passage close enough to the question, the
        turn is answered as a plain chat, or, only from the documents, `not_found`."""
        choice = self.documents_for(conversation.id)
        own_prompt = conversation.system_prompt
        if given:
            sources = given
        elif not choice.libraries:
            return None
        else:
            if self._documents is None:
                raise LanternError("This conversation answers from documents: open it in Lantern.")
            question = history[-1].content
            earlier = [m.content for m in history[:-1] if m.role == "user"]
            found = self._documents.retrieve(
                question,
                earlier_questions=earlier,
                libraries=choice.libraries,
                limit=RETRIEVED_PASSAGES,
            )
            found = relevant_passages(found)
            if choice.documents_only and not found:
                return Grounding(None, not_found=True)
            bare = grounded_system_message(own_prompt, [], documents_only=choice.documents_only)
            budget = passage_budget(
                window=model.loaded.context_length,
                max_tokens=sampling.max_tokens,
                conversation_tokens=_prompt_tokens(model, bare, history, continue_text),
                latest_tokens=_prompt_tokens(model, bare, history[-1:], continue_text),
                may_leave_out_turns=stored_context_policy(conversation) == "drop_middle",
            )
            costs = [model.count_tokens(source_entry(n, p)) for n, p in enumerate(found, 1)]
            sources = tuple(
                MessageSource(n, p.path, p.page, p.heading, p.start, p.end, p.text, p.score)
                for n, p in enumerate(fit_passages(found, costs, budget), 1)
            )
        if not sources:
            return Grounding(own_prompt)
        entries = [source_entry(source.number, source) for source in sources]
        system = grounded_system_message(own_prompt, entries, documents_only=choice.documents_only)
        return Grounding(system, sources)

    def context_usage(self, conversation_id: int) -> tuple[int, int] | None:
        """(tokens the conversation filled, the context window) as of its latest answer."""
        thread = self.messages.thread(conversation_id)
        stats = next((m.stats for m in reversed(thread) if m.stats), None)
        return context_use(stats, self._settings.context_length)

    def lease(self, model: RunnableModel, cancelled: Cancellation | None = None) -> LentModel:
        """The model lent to a turn, loaded: an interactive lease of the engine pool. Waiting
        for it ends when `cancelled` is set (WaitCancelled)."""
        return self._engines.lease(model, "interactive", "chat", cancelled=cancelled)


class ChatTurnRun:
    """A chat turn as a run (services/runs.py), for a surface that shows more than the text:
    TurnStarted once the message is stored, ModelReady once the model is loaded, then the
    answer's pieces (str). Its `outcome` is the turn's."""

    def __init__(self, chat: ChatService, turn: ChatTurn) -> None:
        self._chat = chat
        self._turn = turn

    @property
    def outcome(self) -> TurnOutcome | None:
        return self._turn.outcome

    def cancel(self) -> None:
        self._turn.cancel()

    def __iter__(self) -> Iterator[TurnEvent]:
        turn, chat = self._turn, self._chat
        yield TurnStarted(
            turn.conversation.id,
            turn.user_message,
            chat.messages.get(turn.answer_id),
            chat.branches(turn.user_message.id),
            chat.branches(turn.answer_id),
        )
        try:
            loaded = turn.load_model()
            if loaded is None:  # stopped before the model was lent: the turn has ended
                return
            yield ModelReady(loaded)
            yield from turn
        finally:
            turn.release()


class ChatTurn:
    """One answer being generated. Iterate it for the answer's text as it arrives; `outcome`
    is set when the iteration ends. `cancel()` may be called from any thread."""

    def __init__(
        self,
        service: ChatService,
        conversation: ConversationRecord,
        history: list[MessageRecord],
        answer: MessageRecord,
        model: RunnableModel,
        sampling: Sampling,
        *,
        continuing: bool = False,
    ) -> None:
        self._service = service
        # Going on from an answer cut short: its text so far is the start of this one.
        self._start = answer.content if continuing else ""
        self.conversation = conversation
        self.user_message = history[-1]
        self.answer_id = answer.id
        self.model = model
        self._history = history
        self._sampling = sampling
        self._cancelled = Cancellation()  # Stop: also ends a wait for the model
        self._stream: TextStream | None = None
        self._lease: LentModel | None = None
        # An answer from documents: its sources, saved with its first flush (or its end).
        self._unsaved_sources: tuple[MessageSource, ...] = ()
        self._kept_sources = answer.sources if continuing else ()
        self.prompt: tuple[ChatMessage, ...] = ()  # the messages the model is given
        self.outcome: TurnOutcome | None = None

    def cancel(self) -> None:
        self._cancelled.set()
        stream = self._stream
        if stream is not None:
            stream.cancel()

    def load_model(self) -> ModelLoaded | None:
        """Load the turn's model unless an idle engine holds it (seconds for a large one), and
        hold it for the turn. Iterating calls it too; a caller may call it first to tell the
        user what is happening. The turn lets the model go when its iteration ends. None
        when the turn was stopped before the model was lent (it has ended, stopped)."""
        if self._lease is None:
            parts = [self._start] if self._start else []
            if self.outcome is not None:
                return None
            try:
                with self._keeping_the_answer(parts):
                    if self._cancelled.is_set():
                        raise WaitCancelled("Stopped before the model was lent.")
                    self._lease = self._service.lease(self.model, self._cancelled)
            except WaitCancelled:
                return None
        return self._lease.loaded

    def release(self) -> None:
        """Let the model go (the iteration does; a turn never iterated must too)."""
        if self._lease is not None:
            self._lease.release()

    def __iter__(self) -> Iterator[str]:
        try:
            yield from self._answer()
        finally:
            self.release()

    def _answer(self) -> Iterator[str]:
        loaded = self.load_model()
        if loaded is None:
            return
        assert self._lease is not None
        parts: list[str] = [self._start] if self._start else []
        if self._cancelled.is_set():
            self._finish("stopped", parts, None, loaded)
            return
        messages = self._service.messages
        with self._keeping_the_answer(parts):
            grounding = self._service.grounding(
                self.conversation,
                self._history,
                self._lease,
                self._sampling,
                given=self._kept_sources,
                continue_text=self._start,
            )
        system_prompt = self.conversation.system_prompt
        if grounding is not None:
            if grounding.not_found:  # said, not generated
                parts.append(not_found_answer())
                self._finish("complete", parts, None, loaded)
                yield parts[-1]
                return
            system_prompt = grounding.system_prompt
            if not self._kept_sources:
                self._unsaved_sources = grounding.sources
        self.prompt = chat_messages(system_prompt, self._history)
        with self._keeping_the_answer(parts):
            with self._lease.generate(
                GenerationRequest(
                    messages=self.prompt,
                    sampling=self._sampling,
                    context_policy=stored_context_policy(self.conversation),
                    continue_text=self._start,
                )
            ) as stream:
                self._stream = stream
                if self._cancelled.is_set():
                    stream.cancel()
                last_flush = time.monotonic()
                for piece in stream:
                    parts.append(piece)
                    yield piece
                    now = time.monotonic()
                    if now - last_flush >= FLUSH_INTERVAL_S:
                        sources, self._unsaved_sources = self._unsaved_sources, ()
                        messages.save_partial(self.answer_id, "".join(parts), sources=sources)
                        last_flush = now
            finished = stream.finished
            assert finished is not None
            status: AnswerStatus = (
                "stopped" if finished.finish_reason == "cancelled" else "complete"
            )
            self._finish(status, parts, finished.stats, loaded)

    @contextmanager
    def _keeping_the_answer(self, parts: list[str]) -> Iterator[None]:
        """However the block fails, store what was written, marked why, then re-raise."""
        try:
            yield
        except WaitCancelled:
            self._finish("stopped", parts, None)
            raise
        except EngineCrashed as exc:
            # Ended by Lantern because Stop went unanswered: the user's Stop, kept as such.
            unanswered_stop = isinstance(exc, EngineUnresponsive) and self._cancelled.is_set()
            status: AnswerStatus = "stopped" if unanswered_stop else "interrupted"
            self._finish(status, parts, None, error=exc.message)
            raise
        except LanternError as exc:
            self._finish("failed", parts, None, error=exc.message)
            raise
        except BaseException as exc:  # a bug, Ctrl+C, an abandoned iteration
            self._finish("interrupted" if parts else "failed", parts, None, error=repr(exc))
            raise

    def _finish(
        self,
        status: AnswerStatus,
        parts: list[str],
        stats: GenerationStats | None,
        loaded: ModelLoaded | None = None,
        *,
        error: str | None = None,
    ) -> None:
        record = None
        if stats:
            window = loaded.context_length if loaded else None
            record = {"model_id": self.model.id, "context_length": window, **asdict(stats)}
        sources, self._unsaved_sources = self._unsaved_sources, ()
        answer = self._service.messages.finish(
            self.answer_id,
            content="".join(parts),
            status=status,
            stats=record,
            error=error,
            sources=sources,
        )
        self.outcome = TurnOutcome(status, answer, stats, loaded, error)
        log.info("Turn %s in conversation %s: %s", self.answer_id, self.conversation.id, status)


def _prompt_tokens(
    model: TextModel, system_prompt: str, history: list[MessageRecord], continue_text: str
) -> int:
    """About the tokens a chat takes in the prompt (each message's text, counted at once,
    and the template's tokens around it; the count margin of tasks/grounded.py covers the
    difference)."""
    messages = chat_messages(system_prompt, history)
    text = "\n".join([*(m.content for m in messages), continue_text])
    return model.count_tokens(text) + MESSAGE_OVERHEAD_TOKENS * (len(messages) + 1)


def _check_not_empty(text: str) -> None:
    if not text.strip():
        raise LanternError("The message is empty; type something to send.")
