"""The conversation sidebar: New chat, search over every message, and the conversations under
date headings (Pinned, Today, Yesterday, ...), with rename, pin and delete-with-undo.

Every read and write goes through the window's BackgroundTasks; the widget only shows what
comes back. The chat page wires it up and reads the list (`refresh()`) when it starts:
`conversation_selected` opens a conversation,
`message_selected` opens one at a message, `refresh(select=...)` after a new chat or an answer,
`select_quietly()` to show which one is open, `lock()` while an answer streams.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from PySide6.QtCore import (
    QAbstractItemModel,
    QElapsedTimer,
    QEvent,
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QAbstractTextDocumentLayout, QKeyEvent, QPainter, QPalette, QTextDocument
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QStackedWidget,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from desktop.store.search import MATCH_END, MATCH_START
from desktop.ui.chat.date_groups import group_by_date
from desktop.ui.page import LanternWidget
from desktop.ui.widgets.notice import Notice
from desktop.ui.widgets.throttle import Throttle

if TYPE_CHECKING:
    from desktop.services.app import Lantern
    from desktop.store.repositories import ConversationRecord
    from desktop.store.search import SearchHit
    from desktop.ui.bridge import BackgroundTasks

UNDO_TIMEOUT_MS = 10_000
SEARCH_DELAY_MS = 200
SEARCH_LIMIT = 50

CONVERSATION_ID_ROLE = Qt.ItemDataRole.UserRole
MESSAGE_ID_ROLE = Qt.ItemDataRole.UserRole + 1
HTML_ROLE = Qt.ItemDataRole.UserRole + 2  # rich text the delegate paints instead of the text
PINNED_ROLE = Qt.ItemDataRole.UserRole + 3

_LIST_PAGE, _RESULTS_PAGE, _MESSAGE_PAGE = range(3)
_ITEM_PADDING = 8  # pixels added to an item's height


# Markdown's marks in a snippet of an answer ("**", "`", "#" at a line's start): noise in a
# one-line preview.
MARKDOWN_MARKS = re.compile(r"\*\*|__|`+|^#+\s+", re.MULTILINE)


def snippet_html(snippet: str) -> str:
    """A search snippet as rich text: the matched words in bold, Markdown's marks left out,
    everything else escaped."""
    plain = MARKDOWN_MARKS.sub("", snippet)
    text = html.escape(" ".join(plain.split()))  # the markers are not touched by escaping
    return text.replace(MATCH_START, "<b>").replace(MATCH_END, "</b>")


def result_html(hit: SearchHit) -> str:
    title = html.escape(hit.conversation_title)
    return f"<div><b>{title}</b></div><div>{snippet_html(hit.snippet)}</div>"


ListT = TypeVar("ListT", bound=QListWidget)


class SidebarDelegate(QStyledItemDelegate):
    """Paints rich text items (search results) and edits titles in place: a finished edit is
    reported as `renamed(conversation_id, title)`; the sidebar writes it to the store."""

    renamed = Signal(int, str)

    def _document(self, markup: str, option: QStyleOptionViewItem, width: int) -> QTextDocument:
        document = QTextDocument()
        document.setDefaultFont(option.font)
        document.setDocumentMargin(2)
        document.setHtml(markup)
        document.setTextWidth(max(width, 40))
        return document

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        markup = index.data(HTML_ROLE)
        if not markup:
            super().paint(painter, option, index)
            return
        options = QStyleOptionViewItem(option)
        self.initStyleOption(options, index)
        widget = options.widget
        style = widget.style() if widget is not None else QApplication.style()
        options.text = ""
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, options, painter, widget)
        area = style.subElementRect(QStyle.SubElement.SE_ItemViewItemText, options, widget)
        document = self._document(markup, options, area.width())
        context = QAbstractTextDocumentLayout.PaintContext()
        selected = bool(options.state & QStyle.StateFlag.State_Selected)
        role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        context.palette.setColor(QPalette.ColorRole.Text, options.palette.color(role))
        painter.save()
        painter.translate(area.left(), area.top() + _ITEM_PADDING // 2)
        painter.setClipRect(0, 0, area.width(), area.height())
        document.documentLayout().draw(painter, context)
        painter.restore()

    def sizeHint(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        size = super().sizeHint(option, index)
        markup = index.data(HTML_ROLE)
        if markup:
            widget = option.widget
            width = widget.viewport().width() if isinstance(widget, QListWidget) else 240
            document = self._document(markup, option, width - 12)
            return QSize(width, int(document.size().height()) + _ITEM_PADDING)
        return QSize(size.width(), size.height() + _ITEM_PADDING)

    def setModelData(
        self,
        editor: QWidget,
        model: QAbstractItemModel,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        if not isinstance(editor, QLineEdit):
            return
        title = " ".join(editor.text().split())
        conversation_id = index.data(CONVERSATION_ID_ROLE)
        if not title or title == index.data() or conversation_id is None:
            return
        model.setData(index, title)  # shown at once; the store follows
        self.renamed.emit(int(conversation_id), title)


# Keys are handled by the widgets themselves, not by an event filter on the sidebar: a filter
# is still called while the sidebar is being destroyed (its children send events as they go),
# and PySide then calls into a half-destroyed Python object, which can crash the app.


class SearchField(QLineEdit):
    """Escape clears the search (then, empty, lets Escape through); Down moves to the results."""

    down_pressed = Signal()

    def event(self, event: QEvent) -> bool:
        # Escape with text clears it, rather than being the window's shortcut (Stop).
        if (
            event.type() == QEvent.Type.ShortcutOverride
            and isinstance(event, QKeyEvent)
            and event.key() == Qt.Key.Key_Escape
            and self.text()
        ):
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape and self.text():
            self.clear()
        elif event.key() == Qt.Key.Key_Down:
            self.down_pressed.emit()
        else:
            super().keyPressEvent(event)


class ConversationList(QListWidget):
    """F2 renames and Del deletes the current conversation (not while a title is edited)."""

    rename_pressed = Signal()
    delete_pressed = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if self.state() != QAbstractItemView.State.EditingState:
            if event.key() == Qt.Key.Key_F2:
                self.rename_pressed.emit()
                return
            if event.key() == Qt.Key.Key_Delete:
                self.delete_pressed.emit()
                return
        super().keyPressEvent(event)


class ConversationSidebar(LanternWidget):
    """New chat, the search field and the conversation list (or search results)."""

    new_chat_requested = Signal()
    conversation_selected = Signal(int)  # conversation id; the user picked it
    message_selected = Signal(int, int)  # conversation id, message id: a search result
    conversation_deleted = Signal(int)  # stored as deleted (Undo can still bring it back)
    conversation_restored = Signal(int)  # Undo brought it back
    export_requested = Signal(int)  # conversation id: the user asked to save it as a file
    refreshed = Signal()  # the list shows what the store holds now
    results_shown = Signal(int)  # a search finished: how many results it shows

    def __init__(
        self,
        lantern: Lantern,
        tasks: BackgroundTasks,
        parent: QWidget | None = None,
        *,
        undo_timeout_ms: int = UNDO_TIMEOUT_MS,
        search_delay_ms: int = SEARCH_DELAY_MS,
    ) -> None:
        super().__init__(lantern, tasks, parent)
        self._records: list[ConversationRecord] = []
        self._hidden: set[int] = set()  # deleted here; hidden even if a read still has them
        self._deleting: set[int] = set()  # delete() not yet returned
        self._restore_after_delete: set[int] = set()  # Undo came before delete() returned
        self._undo_id: int | None = None
        self._quiet = False  # the selection moves by the sidebar's hand, not the user's
        self._refresh_generation = 0
        self._search_generation = 0
        self._last_emitted: tuple[int, int] | None = None
        self._since_emitted = QElapsedTimer()
        self._build(undo_timeout_ms, search_delay_ms)

    # ---- layout ----

    def _build(self, undo_timeout_ms: int, search_delay_ms: int) -> None:
        self.new_chat_button = QPushButton("New chat")
        self.new_chat_button.setAccessibleName("New chat")
        self.new_chat_button.setToolTip("New chat (Ctrl+N)")
        self.new_chat_button.clicked.connect(self.new_chat_requested)

        self.search_field = SearchField()
        self.search_field.setPlaceholderText("Search all conversations")
        self.search_field.setAccessibleName("Search all conversations")
        self.search_field.setToolTip("Search all conversations (Ctrl+K)")
        self.search_field.setClearButtonEnabled(True)
        self.search_field.textChanged.connect(self._search_text_changed)
        self.search_field.returnPressed.connect(self._focus_results)
        self.search_field.down_pressed.connect(self._focus_results)
        self._search_soon = Throttle(self._start_search, search_delay_ms, parent=self)

        self.conversation_list = self._new_list("Conversations", ConversationList())
        self.delegate = SidebarDelegate(self.conversation_list)
        self.delegate.renamed.connect(self._rename_edited)
        self.conversation_list.setItemDelegate(self.delegate)
        self.conversation_list.setUniformItemSizes(True)
        self.conversation_list.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.conversation_list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.conversation_list.customContextMenuRequested.connect(self._context_menu)
        self.conversation_list.currentItemChanged.connect(self._current_changed)
        self.conversation_list.rename_pressed.connect(lambda: self.rename_conversation())
        self.conversation_list.delete_pressed.connect(lambda: self.delete_conversation())

        self.results_list = self._new_list("Search results", QListWidget())
        # One delegate per view: a view reports its editors to every view of its delegate.
        self.results_list.setItemDelegate(SidebarDelegate(self.results_list))
        self.results_list.setWordWrap(True)
        self.results_list.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.results_list.itemClicked.connect(self._result_activated)
        self.results_list.itemActivated.connect(self._result_activated)

        self.message_label = QLabel()  # "No conversations yet", "No messages match ..."
        self.message_label.setAccessibleName("Sidebar message")
        self.message_label.setWordWrap(True)
        self.message_label.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self.message_label.setContentsMargins(8, 16, 8, 8)
        self.message_label.setTextFormat(Qt.TextFormat.PlainText)

        self.pages = QStackedWidget()
        self.pages.addWidget(self.conversation_list)
        self.pages.addWidget(self.results_list)
        self.pages.addWidget(self.message_label)

        self.undo_bar = QFrame()
        self.undo_bar.setFrameShape(QFrame.Shape.StyledPanel)
        self.undo_bar.setAccessibleName("Conversation deleted")
        self.undo_label = QLabel("Conversation deleted.")
        self.undo_button = QPushButton("Undo")
        self.undo_button.setAccessibleName("Undo delete")
        self.undo_button.clicked.connect(self.undo_delete)
        bar = QHBoxLayout(self.undo_bar)
        bar.setContentsMargins(8, 4, 4, 4)
        bar.addWidget(self.undo_label, 1)
        bar.addWidget(self.undo_button)
        self.undo_bar.hide()
        self.undo_timer = QTimer(self)
        self.undo_timer.setSingleShot(True)
        self.undo_timer.setInterval(undo_timeout_ms)
        self.undo_timer.timeout.connect(self._undo_expired)

        self.notice = Notice()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 0, 8)
        layout.addWidget(self.new_chat_button)
        layout.addWidget(self.search_field)
        layout.addWidget(self.pages, 1)
        layout.addWidget(self.undo_bar)
        layout.addWidget(self.notice)

    def _new_list(self, name: str, view: ListT) -> ListT:
        view.setAccessibleName(name)
        # Long titles end in "…" rather than pushing a horizontal scroll bar in.
        view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        view.setTextElideMode(Qt.TextElideMode.ElideRight)
        view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        return view

    # ---- the conversation list ----

    def refresh(self, select: int | None = None) -> None:
        """Read the list again in the background. The selection stays where it is, or moves
        to `select` (without `conversation_selected`: the caller knows what it opened)."""
        self._refresh_generation += 1
        generation = self._refresh_generation

        def show(records: list[ConversationRecord]) -> None:
            if generation != self._refresh_generation:
                return  # a newer read is on its way
            self._records = records
            self._show_conversations(select)
            self.refreshed.emit()

        self._tasks.run(lambda: self._lantern.history.list_conversations(), show, self._show_error)

    def select_quietly(self, conversation_id: int | None) -> None:
        """Select this conversation in the list (or none), without `conversation_selected`:
        the caller has it open already."""
        view = self.conversation_list
        item = self.conversation_item(conversation_id) if conversation_id is not None else None
        if item is view.currentItem() and (item is not None or not view.selectedItems()):
            return
        self._quiet = True
        try:
            if item is None:
                view.setCurrentRow(-1)
                view.clearSelection()
            else:
                view.setCurrentItem(item)
                view.scrollToItem(item)
        finally:
            self._quiet = False

    def lock(self, locked: bool) -> None:
        """While an answer streams: no other conversation opens, and no new one starts."""
        for widget in (self.new_chat_button, self.conversation_list, self.results_list):
            widget.setEnabled(not locked)

    def focus_search(self) -> None:
        self.search_field.setFocus()
        self.search_field.selectAll()

    def title_of(self, conversation_id: int) -> str | None:
        item = self.conversation_item(conversation_id)
        return item.text() if item is not None else None

    def selected_conversation_id(self) -> int | None:
        item = self.conversation_list.currentItem()
        if item is None or item.data(CONVERSATION_ID_ROLE) is None:
            return None
        return int(item.data(CONVERSATION_ID_ROLE))

    def conversation_item(self, conversation_id: int) -> QListWidgetItem | None:
        for row in range(self.conversation_list.count()):
            item = self.conversation_list.item(row)
            if item.data(CONVERSATION_ID_ROLE) == conversation_id:
                return item
        return None

    def headers(self) -> list[str]:
        """The date headings shown, top to bottom."""
        return [
            item.text()
            for item in map(self.conversation_list.item, range(self.conversation_list.count()))
            if item.data(CONVERSATION_ID_ROLE) is None
        ]

    def titles(self) -> list[str]:
        """The conversation titles shown, top to bottom."""
        return [
            item.text()
            for item in map(self.conversation_list.item, range(self.conversation_list.count()))
            if item.data(CONVERSATION_ID_ROLE) is not None
        ]

    def _show_conversations(self, select: int | None = None) -> None:
        view = self.conversation_list
        keep = select if select is not None else self.selected_conversation_id()
        records = [record for record in self._records if record.id not in self._hidden]
        header_color = self.palette().color(QPalette.ColorRole.PlaceholderText)
        header_font = self.font()
        header_font.setBold(True)
        header_font.setPointSizeF(header_font.pointSizeF() * 0.9)
        self._quiet = True
        try:
            view.clear()
            for group in group_by_date(records):
                header = QListWidgetItem(group.label)
                header.setFlags(Qt.ItemFlag.NoItemFlags)  # the keyboard skips it
                header.setFont(header_font)
                header.setForeground(header_color)
                header.setData(Qt.ItemDataRole.AccessibleDescriptionRole, "heading")
                view.addItem(header)
                for record in group.items:
                    item = QListWidgetItem(record.title)
                    item.setData(CONVERSATION_ID_ROLE, record.id)
                    item.setData(PINNED_ROLE, record.pinned)
                    count = record.message_count
                    item.setToolTip(f"{record.title}\n{count} message{'s' * (count != 1)}")
                    item.setFlags(
                        Qt.ItemFlag.ItemIsSelectable
                        | Qt.ItemFlag.ItemIsEnabled
                        | Qt.ItemFlag.ItemIsEditable
                    )
                    view.addItem(item)
            chosen = self.conversation_item(keep) if keep is not None else None
            if chosen is not None:
                view.setCurrentItem(chosen)
                view.scrollToItem(chosen)
        finally:
            self._quiet = False
        if not self._searching():
            if records:
                self.pages.setCurrentIndex(_LIST_PAGE)
            else:
                self.message_label.setText("No conversations yet.")
                self.pages.setCurrentIndex(_MESSAGE_PAGE)

    def _current_changed(self, current: QListWidgetItem | None, _previous: object) -> None:
        if self._quiet or current is None:
            return
        conversation_id = current.data(CONVERSATION_ID_ROLE)
        if conversation_id is not None:
            self.conversation_selected.emit(int(conversation_id))

    def _target(self, conversation_id: int | None) -> int | None:
        return conversation_id if conversation_id is not None else self.selected_conversation_id()

    def _context_menu(self, position: QPoint) -> None:
        view = self.conversation_list
        item = view.itemAt(position)
        if item is None:  # the keyboard's menu key: the current conversation
            item = view.currentItem()
            if item is not None:
                position = view.visualItemRect(item).center()
        if item is None or item.data(CONVERSATION_ID_ROLE) is None:
            return
        conversation_id = int(item.data(CONVERSATION_ID_ROLE))
        pinned = bool(item.data(PINNED_ROLE))
        menu = QMenu(self)
        rename = menu.addAction("Rename")
        rename.setShortcut("F2")
        rename.triggered.connect(lambda: self.rename_conversation(conversation_id))
        pin = menu.addAction("Unpin" if pinned else "Pin")
        pin.triggered.connect(lambda: self.set_pinned(conversation_id, not pinned))
        export = menu.addAction("Export…")
        export.triggered.connect(lambda: self.export_requested.emit(conversation_id))
        menu.addSeparator()
        delete = menu.addAction("Delete")
        delete.setShortcut("Del")
        delete.triggered.connect(lambda: self.delete_conversation(conversation_id))
        menu.exec(view.viewport().mapToGlobal(position))
        menu.deleteLater()

    def changeEvent(self, event: QEvent) -> None:
        # The headings' colour and size come from the palette and font: a theme or text size
        # chosen later redraws them.
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.FontChange):
            self._show_conversations()
        super().changeEvent(event)

    # ---- rename, pin, delete ----

    def rename_conversation(self, conversation_id: int | None = None) -> None:
        """Edit the title in place (the selected conversation by default); Enter keeps it."""
        target = self._target(conversation_id)
        item = self.conversation_item(target) if target is not None else None
        if item is not None:
            self.conversation_list.scrollToItem(item)
            self.conversation_list.editItem(item)

    def _rename_edited(self, conversation_id: int, title: str) -> None:
        self._write(lambda: self._lantern.history.rename(conversation_id, title))

    def set_pinned(self, conversation_id: int | None = None, pinned: bool = True) -> None:
        target = self._target(conversation_id)
        if target is None:
            return
        self._write(lambda: self._lantern.history.pin(target, pinned))

    def delete_conversation(self, conversation_id: int | None = None) -> None:
        """Hide it at once and offer Undo for a while; the store marks it deleted meanwhile."""
        target = self._target(conversation_id)
        if target is None or target in self._hidden:
            return
        self._hidden.add(target)
        self._deleting.add(target)
        if self.selected_conversation_id() == target:
            self._quiet = True
            self.conversation_list.setCurrentRow(-1)
            self._quiet = False
        self._show_conversations()
        self._undo_id = target
        self.undo_bar.show()  # the focus stays in the list: Del again deletes the next one
        self.undo_timer.start()

        def deleted(_: object) -> None:
            self._deleting.discard(target)
            self.conversation_deleted.emit(target)
            if target in self._restore_after_delete:
                self._restore_after_delete.discard(target)
                self._restore(target)

        def failed(error: BaseException) -> None:
            self._deleting.discard(target)
            self._hidden.discard(target)
            self._restore_after_delete.discard(target)
            if self._undo_id == target:
                self._close_undo_bar()
            self._show_error(error)
            self.refresh()

        self._tasks.run(lambda: self._lantern.history.delete(target), deleted, failed)

    def undo_delete(self) -> None:
        """Bring back the conversation deleted last (while the bar offers it)."""
        target = self._undo_id
        self._close_undo_bar()
        if target is None:
            return
        if target in self._deleting:
            self._restore_after_delete.add(target)  # after delete(), never before it
        else:
            self._restore(target)

    def _restore(self, conversation_id: int) -> None:

        def restored(_: object) -> None:
            self._hidden.discard(conversation_id)
            self.conversation_restored.emit(conversation_id)
            self.refresh()

        self._tasks.run(
            lambda: self._lantern.history.undo_delete(conversation_id), restored, self._show_error
        )

    def _undo_expired(self) -> None:
        self._close_undo_bar()

    def _close_undo_bar(self) -> None:
        self.undo_timer.stop()
        self._undo_id = None
        self.undo_bar.hide()

    def _write(self, change: Callable[[], Any]) -> None:
        """A change to the store, then the list as it now is (or the error, and the list as
        it was)."""

        def failed(error: BaseException) -> None:
            self._show_error(error)
            self.refresh()

        self._tasks.run(change, lambda _: self.refresh(), failed)

    def _show_error(self, error: BaseException) -> None:
        self.notice.show_error(error)

    # ---- search ----

    def _searching(self) -> bool:
        return bool(self.search_field.text().strip())

    def _search_text_changed(self, text: str) -> None:
        self.notice.clear_message()
        if text.strip():
            self._search_soon.restart()  # one search once typing pauses
            return
        self._search_soon.cancel()
        self._search_generation += 1  # a search still on its way is not shown
        self.results_list.clear()
        self._show_conversations()

    def _start_search(self) -> None:
        query = self.search_field.text().strip()
        if not query:
            return
        self._search_generation += 1
        generation = self._search_generation

        def show(hits: list[SearchHit]) -> None:
            if generation == self._search_generation:
                self._show_results(query, hits)

        def failed(error: BaseException) -> None:
            if generation == self._search_generation:
                self._show_error(error)

        self._tasks.run(lambda: self._lantern.history.search(query, SEARCH_LIMIT), show, failed)

    def _show_results(self, query: str, hits: list[SearchHit]) -> None:
        view = self.results_list
        view.clear()
        for hit in hits:
            plain = hit.snippet.replace(MATCH_START, "").replace(MATCH_END, "")
            item = QListWidgetItem(f"{hit.conversation_title}\n{' '.join(plain.split())}")
            item.setData(HTML_ROLE, result_html(hit))
            item.setData(CONVERSATION_ID_ROLE, hit.conversation_id)
            item.setData(MESSAGE_ID_ROLE, hit.message_id)
            item.setToolTip(hit.conversation_title)
            view.addItem(item)
        if hits:
            self.pages.setCurrentIndex(_RESULTS_PAGE)
        else:
            self.message_label.setText(f"No messages match “{query}”.")
            self.pages.setCurrentIndex(_MESSAGE_PAGE)
        self.results_shown.emit(len(hits))

    def _focus_results(self) -> None:
        if self.pages.currentIndex() == _RESULTS_PAGE and self.results_list.count():
            if self.results_list.currentItem() is None:
                self.results_list.setCurrentRow(0)
            self.results_list.setFocus()
        elif self.pages.currentIndex() == _LIST_PAGE:
            self.conversation_list.setFocus()

    def _result_activated(self, item: QListWidgetItem) -> None:
        ids = (int(item.data(CONVERSATION_ID_ROLE)), int(item.data(MESSAGE_ID_ROLE)))
        # A double click is a click and an activation: one message, not two.
        if (
            ids == self._last_emitted
            and self._since_emitted.isValid()
            and self._since_emitted.elapsed() < QApplication.doubleClickInterval()
        ):
            return
        self._last_emitted = ids
        self._since_emitted.start()
        self.message_selected.emit(*ids)
