// DOM building: every value from the API goes in as text, never as markup.

/** Build an element: h("td", {class: "n"}, "3"). Falsy children are skipped. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") el.className = value;
    else if (name === "dataset") Object.assign(el.dataset, value);
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

/** Replace a container's children, keeping the focus on the element of the same key. */
export function replace(container, nodes) {
  const focused = document.activeElement;
  const key = focused && container.contains(focused) ? focused.dataset.focusKey : undefined;
  container.replaceChildren(...nodes);
  if (key) container.querySelector(`[data-focus-key="${CSS.escape(key)}"]`)?.focus();
}

/** A status as a badge; the colour is a hint, the word is the meaning. */
export function badge(status) {
  return h("span", { class: `badge badge-${status}` }, status);
}

/** "14:03:07", or "3 Mar 14:03" when not today. */
export function clock(iso) {
  if (!iso) return "–";
  const when = new Date(iso);
  const today = new Date().toDateString() === when.toDateString();
  return today
    ? when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" })
    : when.toLocaleString([], { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
}

/** "850 ms", "12.4 s", "3 min 05 s". */
export function duration(ms) {
  if (ms === null || ms === undefined) return "–";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(1)} s`;
  const seconds = Math.round(ms / 1000);
  return `${Math.floor(seconds / 60)} min ${String(seconds % 60).padStart(2, "0")} s`;
}

/** The words of a task's progress: "2 of 3 finished: 1 completed, 1 failed". */
export function progressText(task) {
  const done = task.completed_items + task.failed_items + task.cancelled_items;
  const parts = [`${task.completed_items} completed`];
  if (task.failed_items) parts.push(`${task.failed_items} failed`);
  if (task.cancelled_items) parts.push(`${task.cancelled_items} cancelled`);
  return `${done} of ${task.total_items} finished: ${parts.join(", ")}`;
}

export function isOpen(task) {
  return !task.finished_at && !["completed", "failed", "cancelled"].includes(task.status);
}

const SOURCE_TITLES = {
  feed: "Created by a feed's poll",
  scheduled: "Scheduled: started at a time set for later",
  recurring: "Created by a recurring job",
  import: "Created by a library import",
  local: "Created in local mode (kbm run --local)",
};

/** Where a task came from, when not a request: "feed #2", "scheduled", "recurring", … */
export function sourceLabel(source) {
  if (!source || !(source.kind in SOURCE_TITLES)) return null;
  const words = source.kind === "feed" ? `feed #${source.feed_id}` : source.kind;
  return h("span", { class: `source source-${source.kind}`, title: SOURCE_TITLES[source.kind] }, words);
}

/** One entry of the task list: a link to the task with its progress. */
export function taskEntry(task, selectedId) {
  const selected = task.id === selectedId;
  return h(
    "li",
    { class: "task", dataset: { taskId: task.id, status: task.status } },
    h(
      "a",
      {
        href: `#task/${task.id}`,
        class: "task-link",
        "aria-current": selected ? "true" : null,
        dataset: { focusKey: `task-${task.id}` },
      },
      h("span", { class: "task-name" }, h("strong", {}, `#${task.id}`), ` ${task.type}`, sourceLabel(task.source)),
      badge(task.status),
      h("progress", {
        max: 100,
        value: task.progress,
        "aria-label": `Task ${task.id}: ${task.progress}%`,
      }),
      h("span", { class: "task-counts" }, progressText(task)),
      h("time", { class: "task-time", datetime: task.created_at }, clock(task.created_at)),
    ),
  );
}

function linkTo(url) {
  if (!url) return h("span", { class: "muted" }, "(no URL)");
  const safe = /^https?:\/\//i.test(url);
  return safe
    ? h("a", { href: url, target: "_blank", rel: "noopener noreferrer", class: "url" }, url)
    : h("span", { class: "url" }, url);
}

function stageTrail(item) {
  const entries = Object.entries(item.stages || {});
  if (!entries.length) return null;
  return h(
    "ul",
    { class: "trail", "aria-label": "Stages" },
    entries.map(([name, run]) =>
      h(
        "li",
        { class: `trail-${run.status}` },
        `${name} ${run.status}`,
        run.attempts > 1 ? ` ×${run.attempts}` : "",
        run.duration_ms !== null && run.duration_ms !== undefined ? ` · ${duration(run.duration_ms)}` : "",
      ),
    ),
  );
}

/** One item of a task as a table row (a card on narrow screens). */
export function itemRow(item) {
  return h(
    "tr",
    { dataset: { itemId: item.id, status: item.status } },
    h("td", { class: "cell-link", "data-label": "Link" }, h("div", {}, linkTo(item.url), stageTrail(item))),
    h("td", { class: "cell-stage", "data-label": "Stage" }, item.stage),
    h("td", { class: "cell-status", "data-label": "Status" }, badge(item.status)),
    h("td", { class: "cell-attempts num", "data-label": "Attempts" }, String(item.attempts)),
    h(
      "td",
      { class: "cell-error", "data-label": "Error" },
      item.error ? h("span", { class: "error-text" }, item.error) : h("span", { class: "muted" }, "–"),
    ),
  );
}

/** The per-stage counts of a task as table rows. */
export function stageRows(stageCounts) {
  return Object.entries(stageCounts || {}).map(([name, counts]) =>
    h(
      "tr",
      { dataset: { stage: name } },
      h("th", { scope: "row" }, name),
      ["queued", "running", "completed", "failed"].map((key) =>
        h("td", { class: "num", "data-label": key }, String(counts[key] || 0)),
      ),
      h("td", { class: "num", "data-label": "attempts" }, String(counts.attempts || 0)),
      h("td", { class: "num", "data-label": "mean" }, duration(counts.mean_ms)),
    ),
  );
}

/** The facts of a task: type, stages, times, tokens. */
export function taskFacts(task) {
  const facts = [
    ["Type", task.type],
    ["Stages", (task.stages || []).join(" → ")],
    ["Created", clock(task.created_at)],
    ["Started", clock(task.started_at)],
    ["Finished", clock(task.finished_at)],
    ["Duration", duration(task.duration_ms)],
  ];
  if (task.usage) facts.push(["Tokens", String(task.usage.total_tokens)]);
  return facts.flatMap(([term, value]) => [h("dt", {}, term), h("dd", {}, value)]);
}

/** Every queue's depths as table rows. */
export function queueRows(queues) {
  return Object.entries(queues).map(([name, depth]) =>
    h(
      "tr",
      { dataset: { queue: name } },
      h("th", { scope: "row" }, name),
      ["waiting", "delayed", "unacked", "dead"].map((key) =>
        h("td", { class: `num${key === "dead" && depth[key] ? " alarm" : ""}`, "data-label": key }, String(depth[key])),
      ),
    ),
  );
}

/** The workers seen in the last minute. */
export function workerEntries(workers) {
  return workers.map((worker) => {
    const held = Object.entries(worker.queues || {})
      .map(([queue, count]) => `${queue} ${count}`)
      .join(", ");
    return h(
      "li",
      { class: "worker" },
      h("span", { class: "worker-id", title: worker.id }, worker.id),
      worker.gateway ? h("span", { class: "tag" }, "gateway") : null,
      worker.kind === "worker"
        ? h("span", { class: "tag" }, (worker.consumes || []).join(", ") || "worker")
        : worker.gateway
          ? null
          : h("span", { class: "tag" }, "client"),
      h("span", { class: "muted" }, `heartbeat ${worker.last_heartbeat_age_s.toFixed(1)} s ago`),
      h("span", {}, held ? `holds ${held}` : "idle"),
    );
  });
}

/** Dead letters as table rows. */
export function deadLetterRows(letters) {
  return letters.map((letter) =>
    h(
      "tr",
      {},
      h("td", { "data-label": "Queue" }, letter.queue),
      h("td", { "data-label": "Actor" }, letter.actor),
      h("td", { class: "num", "data-label": "Item" }, letter.item_id ?? "–"),
      h("td", { class: "cell-error", "data-label": "Error" }, letter.error || "–"),
      h("td", { "data-label": "Dead since" }, clock(letter.dead_at)),
    ),
  );
}
