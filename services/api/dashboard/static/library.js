// The Library: search the knowledge base (GET /api/links) by words, tag and category,
// each link with its summary, tags and page; and the feeds (GET /api/feeds) with their
// schedule, last poll and error, paused and resumed in place (PATCH /api/feeds/{id}).
//
// Both load once the board is shown (a token may be needed first); the feeds are read
// again every few seconds while the tab is visible, the library when asked.

import { api, ApiError } from "./api.js";
import { badge, clock, h, replace } from "./render.js";

const PAGE = 20;
const FEEDS_MS = 10000;

const $ = (id) => document.getElementById(id);

const state = { offset: 0, feedsTimer: null, started: false };

function problem(region, error) {
  region.hidden = !error;
  region.replaceChildren();
  if (!error) return;
  const text = error instanceof ApiError ? error.summary : String(error);
  region.append(h("p", {}, text));
}

// ---- library ----------------------------------------------------------------

function filters() {
  return {
    q: $("library-q").value.trim(),
    tag: $("library-tag").value.trim(),
    category: $("library-category").value.trim(),
    limit: PAGE,
    offset: state.offset,
  };
}

function pageLink(link) {
  const publication = link.publication;
  if (!publication) return h("span", { class: "muted" }, "Not published yet");
  if (publication.page_url && /^https?:\/\//i.test(publication.page_url)) {
    return h("a", { href: publication.page_url, target: "_blank", rel: "noopener noreferrer", class: "page-link" },
      "Open the Notion page");
  }
  return h("span", {}, "File: ", h("code", { class: "page-file" }, link.page));
}

function tagButton(tag) {
  return h("li", {}, h("button", { type: "button", class: "tag tag-filter", dataset: { tag }, title: `Only links tagged ${tag}` }, tag));
}

/** One link of the library: title, category, summary, tags and its page. */
export function linkEntry(link) {
  const safeUrl = /^https?:\/\//i.test(link.url);
  return h(
    "li",
    { class: "link", dataset: { linkId: link.id, status: link.status } },
    h("h3", { class: "link-title" },
      safeUrl ? h("a", { href: link.url, target: "_blank", rel: "noopener noreferrer" }, link.title) : link.title),
    h("p", { class: "link-meta" },
      link.category ? h("span", { class: "category" }, link.category) : null,
      badge(link.status),
      h("span", { class: "muted" }, `#${link.id}`)),
    link.summary ? h("p", { class: "link-summary" }, link.summary) : null,
    link.tags.length ? h("ul", { class: "tags", "aria-label": "Tags" }, link.tags.map(tagButton)) : null,
    h("p", { class: "link-page" }, pageLink(link)),
  );
}

async function loadLibrary() {
  const button = $("library-search");
  button.disabled = true;
  try {
    const page = await api.links(filters());
    problem($("library-error"), null);
    replace($("library-list"), page.links.map(linkEntry));
    const first = page.links.length ? page.offset + 1 : 0;
    $("library-count").textContent = `${first}–${page.offset + page.links.length} of ${page.total} links`;
    $("library-empty").hidden = page.links.length > 0;
    $("library-prev").disabled = page.offset === 0;
    $("library-next").disabled = page.offset + page.links.length >= page.total;
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 401)) problem($("library-error"), error);
  } finally {
    button.disabled = false;
  }
}

function search(event) {
  event.preventDefault();
  state.offset = 0;
  loadLibrary();
}

function filterByTag(event) {
  const button = event.target.closest(".tag-filter");
  if (!button) return;
  $("library-tag").value = button.dataset.tag;
  state.offset = 0;
  loadLibrary();
}

// ---- feeds ------------------------------------------------------------------

function every(seconds) {
  for (const [unit, size] of [["d", 86400], ["h", 3600], ["min", 60]]) {
    if (seconds % size === 0) return `every ${seconds / size} ${unit}`;
  }
  return `every ${seconds} s`;
}

/** One feed: name, schedule, last poll and its outcome, error, and pause or resume. */
export function feedRow(feed) {
  const paused = feed.status === "paused";
  return h(
    "tr",
    { dataset: { feedId: feed.id, status: feed.status } },
    h("td", { "data-label": "Feed", class: "url" }, feed.title || feed.url, feed.title ? h("br") : null,
      feed.title ? h("span", { class: "muted" }, feed.url) : null),
    h("td", { "data-label": "Schedule", class: "cell-schedule" }, every(feed.every_seconds)),
    h("td", { "data-label": "Last poll", class: "cell-polled" }, feed.last_polled_at ? clock(feed.last_polled_at) : "never"),
    h("td", { "data-label": "New entries", class: "cell-outcome" }, feed.last_outcome || "–"),
    h("td", { "data-label": "Error", class: "cell-error error-text" }, feed.error || ""),
    h("td", { "data-label": "Status" }, badge(feed.status)),
    h("td", { "data-label": "" },
      h("button", { type: "button", class: "quiet feed-toggle", dataset: { feedId: feed.id, paused: String(paused), focusKey: `feed-${feed.id}` } },
        paused ? "Resume" : "Pause")),
  );
}

async function loadFeeds() {
  clearTimeout(state.feedsTimer);
  try {
    const page = await api.feeds();
    problem($("feeds-error"), null);
    replace($("feed-rows"), page.feeds.map(feedRow));
    $("feeds-empty").hidden = page.feeds.length > 0;
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 401)) problem($("feeds-error"), error);
  }
  if (!document.hidden) state.feedsTimer = setTimeout(loadFeeds, FEEDS_MS);
}

async function toggleFeed(event) {
  const button = event.target.closest(".feed-toggle");
  if (!button) return;
  const pause = button.dataset.paused !== "true";
  button.disabled = true;
  try {
    const feed = await api.setFeedPaused(Number(button.dataset.feedId), pause);
    $("feeds-notice").textContent = `Feed #${feed.id} ${pause ? "paused" : "resumed"}.`;
  } catch (error) {
    problem($("feeds-error"), error);
  }
  await loadFeeds();
}

// ---- start ------------------------------------------------------------------

function whenShown() {
  if ($("board").hidden || state.started) return;
  state.started = true;
  loadLibrary();
  loadFeeds();
}

function start() {
  $("library-form").addEventListener("submit", search);
  $("library-list").addEventListener("click", filterByTag);
  $("library-prev").addEventListener("click", () => {
    state.offset = Math.max(0, state.offset - PAGE);
    loadLibrary();
  });
  $("library-next").addEventListener("click", () => {
    state.offset += PAGE;
    loadLibrary();
  });
  $("feed-rows").addEventListener("click", toggleFeed);
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && state.started) loadFeeds();
  });
  new MutationObserver(whenShown).observe($("board"), { attributes: true, attributeFilter: ["hidden"] });
  whenShown();
}

start();
