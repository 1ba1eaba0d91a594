// The dashboard: submit links, follow tasks live, retry and cancel, watch queues and workers.
//
// One refresh loop reads everything the page shows; it runs every second or so while a
// task is open and every few seconds otherwise, and pauses while the tab is hidden.

import { api, ApiError, forgetToken, savedToken, saveToken } from "./api.js";
import {
  badge, clock, deadLetterRows, isOpen, itemRow, progressText, queueRows, replace,
  stageRows, taskEntry, taskFacts, workerEntries,
} from "./render.js";

const FAST_MS = 1000;
const SLOW_MS = 5000;

const $ = (id) => document.getElementById(id);

const state = {
  selectedId: null,
  filter: "",
  timer: null,
  running: null,
  again: false,
  locked: false,
  anyOpen: false,
  backoffUntil: 0,
};

// ---- feedback -------------------------------------------------------------

/** Show an error (ApiError or text) in a region, or clear it with null. */
function showProblem(region, error) {
  if (!error) {
    region.hidden = true;
    region.replaceChildren();
    return;
  }
  const lines = [];
  if (error instanceof ApiError) {
    lines.push(error.summary);
    const more = (error.problem.errors || []).filter((e) => `${e.field}: ${e.message}` !== error.problem.detail);
    for (const entry of more) lines.push(`${entry.field}: ${entry.message}`);
  } else {
    lines.push(String(error));
  }
  region.replaceChildren(...lines.map((line) => Object.assign(document.createElement("p"), { textContent: line })));
  region.hidden = false;
}

function setConnection(text, kind = "ok") {
  const el = $("connection");
  el.textContent = text;
  el.dataset.kind = kind;
}

function lock(reason) {
  state.locked = true;
  $("board").hidden = true;
  $("token-panel").hidden = false;
  $("token-reason").textContent = reason;
  $("forget-token").hidden = !savedToken();
  setConnection("Token needed", "warn");
  $("token-input").focus();
}

function unlock() {
  state.locked = false;
  $("token-panel").hidden = true;
  $("board").hidden = false;
  $("forget-token").hidden = !savedToken();
}

/** Handle an error every call may meet; return true when it was handled here. */
function handleCommon(error) {
  if (!(error instanceof ApiError)) return false;
  if (error.status === 401) {
    lock(
      savedToken()
        ? `The saved token was refused (${error.problem.detail || "not valid"}). Enter a valid token.`
        : "This gateway requires an API token. Enter it to continue.",
    );
    return true;
  }
  if (error.status === 429) {
    const wait = Math.max(1, error.problem.retryAfter || 5);
    state.backoffUntil = Date.now() + wait * 1000;
    showProblem($("banner"), `${error.summary}. Trying again in ${wait} s.`);
    return true;
  }
  if (error.status === 0) {
    showProblem($("banner"), error.summary);
    setConnection("Offline", "error");
    return true;
  }
  return false;
}

// ---- refresh --------------------------------------------------------------

async function settle(promise, region) {
  try {
    const data = await promise;
    if (region) showProblem(region, null);
    return data;
  } catch (error) {
    if (!handleCommon(error) && region) showProblem(region, error);
    if (error instanceof ApiError && error.status === 401) throw error;
    return undefined;
  }
}

function renderTasks(page) {
  if (!page) return;
  replace($("task-list"), page.tasks.map((task) => taskEntry(task, state.selectedId)));
  $("tasks-empty").hidden = page.tasks.length > 0;
  state.anyOpen = page.tasks.some(isOpen);
}

function renderTask(task, items) {
  const panel = $("task-panel");
  if (!task) return;
  $("task-empty").hidden = true;
  $("task-body").hidden = false;
  panel.dataset.status = task.status;
  $("task-title").textContent = `Task #${task.id}`;
  replace($("task-status"), [badge(task.status)]);
  const bar = $("task-progress");
  bar.value = task.progress;
  bar.textContent = `${task.progress}%`;
  const words = `${progressText(task)} (${task.progress}%)`;
  // Rewritten only when it changes, so screen readers announce progress, not every poll.
  if ($("task-progress-text").textContent !== words) $("task-progress-text").textContent = words;
  $("retry-button").disabled = task.failed_items === 0;
  $("cancel-button").disabled = !isOpen(task);
  replace($("task-facts"), taskFacts(task));
  replace($("stage-rows"), stageRows(task.stage_counts));
  if (items) replace($("item-rows"), items.items.map(itemRow));
  if (isOpen(task)) state.anyOpen = true;
}

function renderMonitoring(queues, workers, dead) {
  if (queues) replace($("queue-rows"), queueRows(queues.queues));
  if (workers) {
    replace($("worker-list"), workerEntries(workers.workers));
    $("workers-empty").hidden = workers.workers.length > 0;
  }
  if (dead) {
    replace($("dead-rows"), deadLetterRows(dead.dead_letters));
    $("dead-empty").hidden = dead.dead_letters.length > 0;
  }
}

async function refreshOnce() {
  const id = state.selectedId;
  const monitor = $("monitor-error");
  const [page, task, items, queues, workers, dead] = await Promise.all([
    settle(api.tasks(state.filter), $("tasks-error")),
    id === null ? undefined : settle(api.task(id), $("task-error")),
    id === null ? undefined : settle(api.items(id), $("task-error")),
    settle(api.queues(), monitor),
    settle(api.workers(), monitor),
    settle(api.deadLetters(), monitor),
  ]);
  unlock();
  if (page) showProblem($("banner"), null);
  state.anyOpen = false;
  renderTasks(page);
  if (id === state.selectedId) renderTask(task, items);
  renderMonitoring(queues, workers, dead);
  if (page) setConnection(`Live · updated ${clock(new Date().toISOString())}`);
  else if ($("connection").dataset.kind === "ok") setConnection("Not updated: see the message", "error");
}

/** Refresh now, then keep refreshing at the pace the page needs. */
async function refresh() {
  clearTimeout(state.timer);
  if (state.running) {
    // A refresh is under way with data from before this call: read again once it ends.
    state.again = true;
    return state.running;
  }
  state.running = (async () => {
    try {
      await refreshOnce();
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 401)) {
        showProblem($("banner"), error instanceof ApiError ? error : `The dashboard failed: ${error}`);
      }
    } finally {
      state.running = null;
      if (state.again) {
        state.again = false;
        refresh();
      } else {
        schedule();
      }
    }
  })();
  return state.running;
}

function schedule() {
  clearTimeout(state.timer);
  if (state.locked || document.hidden) {
    if (document.hidden && !state.locked) setConnection("Paused while hidden", "warn");
    return;
  }
  const wait = Math.max(state.anyOpen ? FAST_MS : SLOW_MS, state.backoffUntil - Date.now());
  state.timer = setTimeout(refresh, wait);
}

// ---- selection --------------------------------------------------------------

function selectFromHash() {
  const match = /^#task\/(\d+)$/.exec(location.hash);
  const id = match ? Number(match[1]) : null;
  if (id === state.selectedId) return false;
  state.selectedId = id;
  $("task-empty").hidden = id !== null;
  $("task-body").hidden = true;
  $("task-status").replaceChildren();
  delete $("task-panel").dataset.status;
  $("task-notice").textContent = "";
  showProblem($("task-error"), null);
  replace($("item-rows"), []);
  replace($("stage-rows"), []);
  replace($("task-facts"), []);
  $("task-progress-text").textContent = "";
  $("task-title").textContent = id === null ? "Task" : `Task #${id}`;
  return true;
}

// ---- actions ----------------------------------------------------------------

async function submitLinks(event) {
  event.preventDefault();
  const field = $("urls");
  const error = $("submit-error");
  const notice = $("submit-notice");
  const urls = field.value.split(/\s+/).filter(Boolean);
  const stages = [...document.querySelectorAll('input[name="stage"]:checked')].map((box) => box.value);
  field.removeAttribute("aria-invalid");
  notice.textContent = "";
  if (!urls.length) {
    field.setAttribute("aria-invalid", "true");
    showProblem(error, "Enter at least one link.");
    field.focus();
    return;
  }
  if (!stages.length) {
    showProblem(error, "Choose at least one stage.");
    return;
  }
  const button = $("submit-button");
  button.disabled = true;
  try {
    const created = await api.submit(urls, stages.length === 3 ? undefined : stages);
    showProblem(error, null);
    field.value = "";
    notice.textContent = `Task #${created.task_id} queued with ${created.total_items} link${created.total_items === 1 ? "" : "s"}.`;
    location.hash = `#task/${created.task_id}`;
    selectFromHash();
    await refresh();
  } catch (ex) {
    if (handleCommon(ex)) return;
    const line = /^urls\[(\d+)\]/.exec(ex.problem?.field || "");
    if (line) {
      const index = Number(line[1]);
      showProblem(error, `Link ${index + 1} (${urls[index]}): ${ex.problem.errors?.[0]?.message || ex.summary}`);
    } else {
      showProblem(error, ex);
    }
    if ((ex.problem?.field || "").startsWith("urls")) {
      field.setAttribute("aria-invalid", "true");
      field.focus();
    }
  } finally {
    button.disabled = false;
  }
}

async function taskAction(button, action, describe) {
  const id = state.selectedId;
  if (id === null) return;
  button.disabled = true;
  $("task-notice").textContent = "";
  try {
    const answer = await action(id);
    showProblem($("task-error"), null);
    $("task-notice").textContent = describe(answer);
  } catch (ex) {
    if (!handleCommon(ex)) showProblem($("task-error"), ex);
  }
  await refresh();
}

// ---- start ------------------------------------------------------------------

function start() {
  $("submit-form").addEventListener("submit", submitLinks);
  $("retry-button").addEventListener("click", (event) =>
    taskAction(event.currentTarget, api.retry, (answer) =>
      `Sent ${answer.retried_items} failed item${answer.retried_items === 1 ? "" : "s"} again.`),
  );
  $("cancel-button").addEventListener("click", (event) =>
    taskAction(event.currentTarget, api.cancel, (answer) =>
      `Cancelled: ${answer.cancelled_now} item${answer.cancelled_now === 1 ? "" : "s"} stopped now.`),
  );
  $("task-filter").addEventListener("change", (event) => {
    state.filter = event.currentTarget.value;
    refresh();
  });
  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const token = $("token-input").value.trim();
    if (!token) return;
    saveToken(token, $("token-remember").checked);
    $("token-input").value = "";
    setConnection("Checking the token…", "warn");
    refresh();
  });
  $("forget-token").addEventListener("click", () => {
    forgetToken();
    location.reload();
  });
  window.addEventListener("hashchange", () => {
    if (selectFromHash()) {
      $("task-title").focus();
      refresh();
    }
  });
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) refresh();
    else schedule();
  });
  selectFromHash();
  $("forget-token").hidden = !savedToken();
  refresh();
}

start();
