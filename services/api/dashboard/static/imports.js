// The "Import a library" box: send an export file to POST /api/imports and show the
// fidelity report. The format is recognised by the gateway from the file's content.
// A created task is opened through the page's hash (#task/ID), as the task list does.

import { ApiError, savedToken } from "./api.js";

const $ = (id) => document.getElementById(id);

const FIGURES = [
  ["rows_read", "Rows read"],
  ["links_new", "New links"],
  ["already_known", "Already known"],
  ["merged_by_normalisation", "Merged by normalisation"],
  ["duplicate_rows", "Duplicate rows"],
  ["refused", "Refused"],
  ["feeds_subscribed", "Feeds subscribed"],
  ["feeds_known", "Feeds already subscribed"],
  ["links_updated", "Links with metadata added"],
  ["items_queued", "Links queued"],
];
const SHOWN_REFUSALS = 50;

/** Post a file as the request body; return the report, or throw an ApiError. */
async function upload(file, dryRun) {
  const headers = { Accept: "application/json", "Content-Type": "application/octet-stream" };
  const token = savedToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(`/api/imports${dryRun ? "?dry_run=true" : ""}`, {
      method: "POST", headers, body: file, cache: "no-store", credentials: "omit",
    });
  } catch (ex) {
    throw new ApiError(0, { title: "The gateway cannot be reached", detail: `${ex.message || ex}` });
  }
  let answer = {};
  try {
    answer = await response.json();
  } catch {
    answer = { title: response.statusText || `HTTP ${response.status}` };
  }
  if (!response.ok) throw new ApiError(response.status, answer);
  return answer.data;
}

function term(list, name, value) {
  list.append(
    Object.assign(document.createElement("dt"), { textContent: name }),
    Object.assign(document.createElement("dd"), { textContent: String(value) }),
  );
}

/** Show a report: its figures, then its refused rows (row number and reason). */
function showReport(report) {
  const facts = $("import-report");
  facts.replaceChildren();
  term(facts, "Format", report.format_label);
  for (const [key, name] of FIGURES) if (report[key]) term(facts, name, report[key]);
  facts.hidden = false;
  const refusals = $("import-refusals");
  refusals.replaceChildren(
    ...report.refusals.slice(0, SHOWN_REFUSALS).map((entry) =>
      Object.assign(document.createElement("li"), {
        textContent: `Row ${entry.row}: ${entry.url || "(no URL)"}: ${entry.reason}`,
      })),
  );
  if (report.refused > SHOWN_REFUSALS) {
    refusals.append(Object.assign(document.createElement("li"), {
      textContent: `… and ${report.refused - SHOWN_REFUSALS} more refused rows.`,
    }));
  }
  refusals.hidden = !report.refusals.length;
}

function notice(report) {
  if (report.dry_run) return `Dry run: nothing imported; ${report.items_queued} links would be queued.`;
  if (report.task_id === null) return "Nothing new to process: no task was created.";
  return `Task #${report.task_id} ${report.status} with ${report.items_queued} links.`;
}

async function importFile(event) {
  event.preventDefault();
  const error = $("import-error");
  const field = $("import-file");
  const file = field.files[0];
  $("import-notice").textContent = "";
  if (!file) {
    error.replaceChildren(Object.assign(document.createElement("p"), { textContent: "Choose an export file." }));
    error.hidden = false;
    return;
  }
  const button = $("import-button");
  button.disabled = true;
  $("import-notice").textContent = `Importing ${file.name}…`;
  try {
    const report = await upload(file, $("import-dry-run").checked);
    error.hidden = true;
    showReport(report);
    $("import-notice").textContent = notice(report);
    if (report.task_id !== null && !report.dry_run) location.hash = `#task/${report.task_id}`;
  } catch (ex) {
    $("import-notice").textContent = "";
    const text = ex instanceof ApiError ? ex.summary : String(ex);
    error.replaceChildren(Object.assign(document.createElement("p"), { textContent: text }));
    error.hidden = false;
  } finally {
    button.disabled = false;
  }
}

$("import-form").addEventListener("submit", importFile);
