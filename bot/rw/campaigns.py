"""Finding campaigns for /rw: the list and its pages, details, the type-ahead, ids or title starts,
and the short keys buttons carry; each look-up that reaches RapidWorkers counts against the
user's allowance (bot.rw.fair_use)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable, Iterable
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, TypeVar

from bot.errors import UserError
from bot.rapidworkers.client import Campaign, Forbidden, NotFound, RapidWorkersError
from bot.rw import blocks as ui
from bot.rw import finder, forms
from bot.rw.fair_use import Allowance, AnswerCache
from bot.rw.parsing import ID_RE, STATUSES, BadInput, _selected, check_id, shown
from bot.rw.replies import problem, reply
from bot.slack.mrkdwn import escape, truncate
from bot.slack.replies import OpenModal, Reply
from bot.text import suggest
from storage import campaigns as campaign_store

if TYPE_CHECKING:
    from bot.services import Services

T = TypeVar("T")
log = logging.getLogger("gigdesk.commands")

TYPE_AHEAD_WAIT = 1.5  # s a cold type-ahead waits for RapidWorkers: Slack drops an options answer after 3 s


class Campaigns:
    """The campaign look-ups of /rw, from a short answer cache."""

    def __init__(self, services: Services):
        self.s = services
        self.answers = AnswerCache()  # balance, campaign lists (bot.rw.fair_use)
        self._allowance = Allowance(services.store)  # per-user look-ups that reach RapidWorkers (shared by replicas)
        self._refresh_lock = threading.Lock()
        self._refreshing: Future | None = None  # the type-ahead's campaign list read under way

    @property
    def db(self):
        return self.s.store.db

    # -- fair use --------------------------------------------------------------------------

    def reaches_rapidworkers(self, user_id: str) -> None:
        """Count one command that calls RapidWorkers against the user's allowance."""
        self._allowance.take(user_id)

    def cached(self, key: Hashable, compute: Callable[[], T], user_id: str) -> T:
        """A read-only answer from the short cache; a miss counts against the user's allowance."""
        return self.answers.get(key, compute, before_compute=lambda: self.reaches_rapidworkers(user_id))

    # -- the list ------------------------------------------------------------------------------

    def listing(self, args: list[str], user_id: str) -> Reply:
        """`/rw campaigns [status] [newest]`: page 1 of the list, most pending first unless `newest`."""
        if len(args) > 2:
            raise BadInput("Give at most a status and an order.", "campaigns")
        status_word, sort = "all", finder.DEFAULT_SORT
        for arg in args:
            word = arg.lower()
            if word in finder.SORT_WORDS:
                sort = finder.SORT_WORDS[word]
            elif word in STATUSES:
                status_word = "canceled" if word == "cancelled" else word
            else:
                words = [*STATUSES, *finder.SORT_WORDS]
                raise BadInput(f"Unknown status or order `{shown(word, 30)}`.{suggest(word, words)}", "campaigns")
        return self._page(1, sort, status_word, user_id)

    def page(self, value: str, user_id: str) -> Reply:
        """Next / Previous / sort on a campaign list: that page replaces the list (forged values: refused, no API call)."""
        found = finder.parse_page_value(value)
        if found is None:
            return problem("That button does not belong to a campaign list I made.")
        page, sort, status_word = found
        return self._page(page, sort, status_word, user_id, replace=True)

    def campaign_list(self, status: str | None, user_id: str | None) -> list:
        """Campaigns from the short answer cache; a miss counts against `user_id`'s allowance (None: already counted)."""
        def compute() -> list:
            return self.s.rw.list_campaigns(status=status)

        if user_id is None:
            return self.answers.get(("campaigns", status), compute)
        return self.cached(("campaigns", status), compute, user_id)

    def _page(self, page: int, sort: str, status_word: str, user_id: str, *, replace: bool = False) -> Reply:
        status = STATUSES[status_word]
        campaigns = finder.ordered(self.campaign_list(status, user_id), sort)
        size = finder.PAGE_ROWS
        pages = max(1, -(-len(campaigns) // size))
        page = min(page, pages)  # the list may have shrunk since the button was made
        values = {"sort": finder.page_value(1, "newest" if sort == "most-pending" else "most-pending", status_word)}
        if page > 1:
            values["previous"] = finder.page_value(page - 1, sort, status_word)
        if page < pages:
            values["next"] = finder.page_value(page + 1, sort, status_word)
        rows = campaigns[(page - 1) * size: page * size]
        self.remember_keys(c.id for c in rows)
        return reply(ui.campaigns_message(rows, status, page=page, pages=pages, sort=sort, values=values), replace=replace)

    # -- one campaign --------------------------------------------------------------------------

    def get(self, campaign_id: str) -> Campaign:
        try:
            return self.s.rw.get_campaign(campaign_id)
        except NotFound:
            raise UserError(f"No campaign with id `{shown(campaign_id)}`.") from None
        except Forbidden:
            raise UserError(f"Campaign `{shown(campaign_id)}` is not one of yours.") from None

    def _by_id(self, campaign_id: str) -> Campaign | None:
        """The campaign with this id, None when there is none; someone else's is refused."""
        try:
            return self.s.rw.get_campaign(campaign_id)
        except NotFound:
            return None
        except Forbidden:
            raise UserError(f"Campaign `{shown(campaign_id)}` is not one of yours.") from None

    def resolve(self, query: str, usage: str) -> Campaign | str | Reply:
        """A campaign from an id or a unique title prefix: the Campaign when it was read by id,
        its id when found in the list, or a Reply when there is none or several (nothing happens then).

        Titles come from the 30 s campaign list cache, so typing costs no extra RapidWorkers
        request. An id-shaped query is read by id first while the list is not cached (the
        read the details need anyway), and also when it is not in the list (another
        owner's campaign, or one created since the list was read).
        """
        query = " ".join((query or "").split())
        if not query:
            raise BadInput("The campaign id or the start of its title is missing.", usage)
        if len(query) > 200:
            raise BadInput("That is longer than any campaign title or id.", usage)
        id_shaped = bool(ID_RE.match(query))
        listed = self.answers.peek(("campaigns", None))
        if listed is None and id_shaped:
            by_id = self._by_id(query)
            if by_id is not None:
                return by_id
        found = finder.find(query, listed if listed is not None else self.campaign_list(None, None))
        if found.campaign is not None:
            return found.campaign.id
        if found.candidates:
            self.remember_keys(c.id for c in found.candidates[:finder.MAX_CANDIDATES])
            return reply(ui.candidates_message(query, found.candidates, limit=finder.MAX_CANDIDATES))
        return self._not_found(query, found.near, usage, by_id=listed is not None and id_shaped)

    def _not_found(self, query: str, near: str | None, usage: str, *, by_id: bool) -> Campaign:
        """No title starts with `query`: read it as an id still unread, else say so (with a near title)."""
        near_line = f" Did you mean *{truncate(escape(near), 100)}*?" if near else ""
        if not ID_RE.match(query):
            raise BadInput(f"No campaign starts with `{shown(query)}`.{near_line}", usage)
        found = self._by_id(query) if by_id else None
        if found is None:
            raise BadInput(f"No campaign with id `{shown(query)}`, and no campaign title starts with it.{near_line}", usage)
        return found

    def title_of(self, campaign_id: str) -> str:
        """The campaign's title from the cached list (its id when not listed)."""
        listed = self.answers.peek(("campaigns", None)) or []
        return next((c.title for c in listed if c.id == campaign_id), campaign_id)

    def command(self, args: list[str], user_id: str, channel_id: str | None) -> Reply | OpenModal:
        """`/rw campaign <id or title start>`: the details, or the candidates when several titles start so; alone, a form."""
        if not args:
            return OpenModal(forms.campaign_modal(channel_id))
        self.reaches_rapidworkers(user_id)
        found = self.resolve(" ".join(args), "campaign")
        if isinstance(found, Reply):
            return found
        return self.details_of(self.get(found) if isinstance(found, str) else found)

    def details_of(self, c: Campaign) -> Reply:
        self.remember_keys([c.id])
        return reply(ui.campaign_message(c))

    def details(self, campaign: str, user_id: str) -> Reply:
        """A Details / View campaign button (or the campaign form): the campaign's details, as `/rw campaign <id>`."""
        cid = self.id_of(campaign, "campaign")
        self.reaches_rapidworkers(user_id)
        return self.details_of(self.get(cid))

    @staticmethod
    def check_view(values: dict) -> tuple[str, dict[str, str]]:
        """The campaign picked in a type-ahead form (the value an option carried) or the field error."""
        picked = _selected(values, ui.CAMPAIGN_PICK_BLOCK)
        if not picked or not (ID_RE.match(picked[0]) or finder.KEY_VALUE.fullmatch(picked[0])):
            return "", {ui.CAMPAIGN_PICK_BLOCK: "Pick a campaign from the list (type part of its title)."}
        return picked[0], {}

    # -- the type-ahead --------------------------------------------------------------------------

    def suggestions(self, query: str, user_id: str) -> list[dict]:
        """Options of the campaign type-ahead, answered inside Slack's 3 s whatever RapidWorkers does.

        From the cached campaign list, however old; a list older than the cache's 30 s is
        refreshed behind, on the work pool (once, however many keystrokes). With no list at all
        it waits up to TYPE_AHEAD_WAIT for that refresh, then says it is still loading."""
        query = " ".join((query or "").split())[:200]
        if not query:
            return []
        listed, fresh = self.answers.latest(("campaigns", None))
        if not fresh:
            try:
                refresh = self._refresh(user_id)
            except UserError as e:  # the allowance for this minute is used up
                return ui.type_ahead_notice(str(e)) if listed is None else self._options(query, listed)
            if listed is None:
                try:
                    listed = refresh.result(timeout=TYPE_AHEAD_WAIT)
                except TimeoutError:
                    return ui.type_ahead_notice("Loading campaigns from RapidWorkers… type another letter in a moment.")
                except (UserError, RapidWorkersError) as e:
                    log.info("campaign type-ahead without options: %s", type(e).__name__)
                    return []
        return self._options(query, listed)

    def _options(self, query: str, campaigns: Any) -> list[dict]:
        found = finder.suggestions(query, campaigns, limit=finder.MAX_OPTIONS)
        self.remember_keys(c.id for c in found)
        return ui.campaign_options(found)

    def _refresh(self, user_id: str) -> Future:
        """Read the campaign list into the cache on the work pool; one read at a time (the one
        under way is shared). Counts against the user's allowance when it starts one."""
        with self._refresh_lock:
            if self._refreshing is not None and not self._refreshing.done():
                return self._refreshing
            self.reaches_rapidworkers(user_id)
            pool = self.s.work
            if pool is None:  # no pool (a bare Services): read it now
                done: Future = Future()
                done.set_result(self.campaign_list(None, None))
                self._refreshing = done
            else:
                self._refreshing = pool.submit(self.campaign_list, None, None)
            return self._refreshing

    # -- campaign values: what a button or option carries for a campaign -----------------------

    def remember_keys(self, campaign_ids: Iterable[str]) -> None:
        """Store the key of each long id about to be shown (finder.campaign_value), so a click on
        it finds its campaign again, after a restart too."""
        keys = {finder.campaign_value(cid): cid for cid in campaign_ids}
        keys = {key: cid for key, cid in keys.items() if key != cid}
        if keys:
            campaign_store.remember_campaign_keys(self.db, keys)

    def id_of(self, value: object, usage: str) -> str:
        """The campaign a button or option names: a key looked up (nothing else happens when it is
        unknown), else an id checked like a typed one."""
        if isinstance(value, str) and finder.KEY_VALUE.fullmatch(value):
            found = campaign_store.campaign_of_key(self.db, value)
            if found is None:
                raise UserError("That button names a campaign I do not know (any more): run `/rw campaigns` again.")
            return found
        return check_id(value if isinstance(value, str) else None, "campaign id", usage)
