// The privacy officer's dashboard: plain ES module, no build step. Everything comes from /officer/graphql
// with the officer's token; every value is written with textContent, never parsed as HTML.
const { Chart } = window;
const TOKEN_KEY = 'keyhole.officerToken';
const PAGE_SIZE = 25;
const DAY_MS = 24 * 3600 * 1000;
const PALETTE = ['#1f5fbf', '#d9480f', '#2b8a3e', '#7048e8', '#c2255c', '#0b7285', '#e67700', '#5c677d'];
const DECISION_COLOURS = { allowed: '#2b8a3e', denied: '#c92a2a', error: '#e67700', pending_approval: '#7048e8' };
// Most severe first: the order findings are read, stacked and listed in.
const OUTCOMES = ['deny', 'flag', 'allow'];
const OUTCOME_COLOURS = { deny: '#c92a2a', flag: '#e67700', allow: '#adb5bd' };

const $ = (id) => document.getElementById(id);

class OfficerApiError extends Error {
  constructor(message, code, status) {
    super(message);
    this.name = 'OfficerApiError';
    this.code = code;
    this.status = status;
  }
}

const RECORD_FIELDS = `seq recordedAt requestId actorKind actorId onBehalfOf purpose actorLocation operationKind operationName operationHash
  decision code reason tables fields { table field mask rule tags classes special } rowCount subjectCount jurisdictions
  privacyCost findings details prevHash hash`;

const SESSION_QUERY = 'query Session { me { id description jurisdictions } agents { id location role } }';
const CHAIN_QUERY = 'query Chain { auditChainStatus { ok checked headSeq prunedThrough verifiedThrough coverage firstBad { seq problem detail } } }';
const LOG_QUERY = `query Log($filter: AuditFilter, $limit: Int, $offset: Int) {
  accessCount(filter: $filter)
  accessLog(filter: $filter, limit: $limit, offset: $offset) { ${RECORD_FIELDS} }
}`;
const BUDGET_FIELDS = 'kind name period epsilonLimit epsilonSpent epsilonRemaining resetsAt deltaLimit deltaSpent queries';
const ANOMALY_FIELDS = 'id agent purpose kind statistic detail value threshold baseline detectedAt occurrences quarantines status clearedBy clearedAt note';
const DASHBOARD_QUERY = `query Dashboard($filter: AuditFilter, $limit: Int, $offset: Int, $outcomes: [FindingOutcome!], $check: String,
    $anomalyStatus: AnomalyStatus, $anomalyAgent: String) {
  anomalies(status: $anomalyStatus, agent: $anomalyAgent, limit: 100) { ${ANOMALY_FIELDS} }
  openAnomalies: anomalies(status: open, agent: $anomalyAgent, limit: 500) { id }
  quarantines { agent since anomalies }
  pendingApprovals: approvals(status: "pending") { id agent purpose table field requestedAt }
  accessCount(filter: $filter)
  accessLog(filter: $filter, limit: $limit, offset: $offset) { ${RECORD_FIELDS} }
  accessesByDay(filter: $filter) { day actorKind actorId requests }
  decisionBreakdown(filter: $filter) { decision code count }
  agentSummaries(filter: $filter) { actorKind agent location requests allowed denied errors rows distinctSubjects withheldRows epsilonSpent }
  privacyBudgets(filter: $filter) { note agents { ${BUDGET_FIELDS} } datasets { ${BUDGET_FIELDS} } }
  crossBorderFlows(filter: $filter, byAgent: true) { agent agentLocation subjectJurisdiction records subjects crossBorder }
  specialCategoryAccess(filter: $filter) { agent table field mask records rows }
  withheldRows(filter: $filter) { actorKind agent table jurisdictions records rows }
  findingCounts(filter: $filter) { check outcome jurisdiction findings }
  rulesVersions(limit: 50) { id hash inForceAt previousId diff { added removed changed { path linesAdded linesRemoved } } }
  findingGroups(filter: $filter, outcomes: $outcomes, check: $check, limit: 100) {
    actorKind agent check outcome jurisdiction rule findings records lastSeen seqs newFindings ack { status note decidedBy decidedAt }
  }
}`;
const RULES_VERSION_QUERY = `query RulesVersion($id: ID!) {
  rulesVersion(id: $id) { id previousId changes { path status omitted lines { op line text } } }
}`;
const RECORD_QUERY = `query Record($seq: BigInt!) { auditRecord(seq: $seq) { ${RECORD_FIELDS} } }`;
const ACKNOWLEDGE_FINDINGS = `mutation AcknowledgeFindings($agent: String, $check: String, $outcome: FindingOutcome, $jurisdiction: String, $note: String!, $resolve: Boolean) {
  acknowledgeFindings(agent: $agent, check: $check, outcome: $outcome, jurisdiction: $jurisdiction, note: $note, resolve: $resolve) { id status }
}`;
const CLEAR_ANOMALY = 'mutation ClearAnomaly($id: ID!, $note: String!) { clearAnomaly(id: $id, note: $note) { id status } }';
const DECIDE_APPROVAL = `mutation DecideApproval($id: ID!, $approve: Boolean!, $reason: String, $hours: Float) {
  decideApproval(id: $id, approve: $approve, reason: $reason, validForHours: $hours) { id status decidedBy expiresAt }
}`;
const CLEAR_QUARANTINE = 'mutation ClearQuarantine($agent: String!, $note: String!) { clearQuarantine(agent: $agent, note: $note) { id } }';
const SEEN_QUERY = `query WhoHasSeen($subject: SubjectIdentifier!) {
  whoHasSeen(subject: $subject) {
    outcome matches subject agents
    accesses { seq recordedAt agent purpose actorLocation subjectJurisdiction fields { table field mask rule } rowCount }
  }
}`;
// What the value box holds for each kind of identifier the who-has-seen form takes.
const ACCESS_REPORT_QUERY = 'query DataSubjectAccessReport($subject: SubjectIdentifier!) { dataSubjectAccessReport(subject: $subject) }';
const SEEN_KINDS = {
  email: { label: 'E-mail', noun: 'the e-mail', inputmode: 'email' },
  nationalId: { label: 'National id', noun: 'the national id', inputmode: 'text' },
  name: { label: 'Full name', noun: 'the name and birth date', inputmode: 'text' },
  customerId: { label: 'Customer id', noun: 'customer id', inputmode: 'numeric' },
};

async function officerGraphql(query, variables = {}) {
  const token = sessionStorage.getItem(TOKEN_KEY) ?? '';
  let response;
  try {
    response = await fetch('/officer/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, variables }),
    });
  } catch {
    throw new OfficerApiError('The broker cannot be reached.', 'NETWORK', 0);
  }
  let body;
  try {
    body = await response.json();
  } catch {
    throw new OfficerApiError(`The broker answered ${response.status} without a JSON body.`, 'BAD_RESPONSE', response.status);
  }
  const error = body.errors?.[0];
  if (error) throw new OfficerApiError(error.message, error.extensions?.code ?? 'ERROR', response.status);
  if (!response.ok || !body.data) throw new OfficerApiError(`The broker answered ${response.status}.`, 'BAD_RESPONSE', response.status);
  return body.data;
}

function showError(error) {
  const box = $('error');
  box.textContent = error instanceof OfficerApiError ? `${error.message} (${error.code})` : `Unexpected error: ${error.message ?? error}`;
  box.hidden = false;
}

function clearError() {
  $('error').hidden = true;
  $('error').textContent = '';
}

/** Builds an element with text content and attributes; children are nodes or strings. */
function el(tag, options = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(options)) {
    if (key === 'className') node.className = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

const fmt = new Intl.NumberFormat('en', { maximumFractionDigits: 3 });
// A budget's share used from which it is shown amber, then red: in colour and in words.
const BUDGET_LEVELS = [
  { share: 0.95, level: 'red', label: 'red: 95 % or more used' },
  { share: 0.8, level: 'amber', label: 'amber: 80 % or more used' },
];
const percent = new Intl.NumberFormat('en', { style: 'percent', maximumFractionDigits: 1 });
// δ lives around 1e-5 and below: fixed decimals would show it as 0.
const small = (value) => (value === 0 ? '0' : value.toExponential(1));
const actorLabel = (kind, id) => (kind === 'agent' ? id : id ? `${kind}: ${id}` : kind);
const time = (iso) => iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');

// ----- filters ------------------------------------------------------------------------------------------

const isoDay = (date) => date.toISOString().slice(0, 10);

function defaultRange() {
  const today = new Date();
  const from = new Date(today.getTime() - 29 * DAY_MS);
  $('filter-from').value = isoDay(from);
  $('filter-to').value = isoDay(today);
}

/** The filter the page shows, as the API's AuditFilter ('to' is the day after the last day shown). */
function currentFilter() {
  const from = $('filter-from').value;
  const to = $('filter-to').value;
  const nextDay = (day) => new Date(Date.parse(`${day}T00:00:00Z`) + DAY_MS).toISOString();
  return {
    from: from ? `${from}T00:00:00Z` : null,
    to: to ? nextDay(to) : null,
    agent: $('filter-agent').value || null,
    onBehalfOf: $('filter-person').value.trim() || null,
    jurisdiction: $('filter-jurisdiction').value || null,
    actorKinds: $('filter-officers').checked ? null : ['agent', 'anonymous'],
  };
}

/** The controls whose values the query string keeps, so a reload (or a shared link) shows the same view. */
const URL_CONTROLS = [
  ['from', 'filter-from'],
  ['to', 'filter-to'],
  ['agent', 'filter-agent'],
  ['person', 'filter-person'],
  ['jurisdiction', 'filter-jurisdiction'],
  ['officers', 'filter-officers'],
  ['outcome', 'findings-outcome'],
  ['check', 'findings-check'],
  ['anomalies', 'anomalies-status'],
  ['rules', 'rules-version'],
];
const controlValue = (control) => (control.type === 'checkbox' ? (control.checked ? 'yes' : '') : control.value);
const defaults = new Map();

/** Applies the query string over the defaults; a select whose options come later keeps its wish until then. */
function readUrlFilters() {
  const params = new URLSearchParams(location.search);
  for (const [name, id] of URL_CONTROLS) {
    const control = $(id);
    defaults.set(name, controlValue(control));
    if (!params.has(name)) continue;
    const value = params.get(name);
    if (control.type === 'checkbox') control.checked = value === 'yes';
    else if (control.tagName === 'SELECT' && ![...control.options].some((o) => o.value === value)) control.dataset.wanted = value;
    else control.value = value;
  }
}

/** Writes every control that differs from its default into the query string, without a new history entry. */
function writeUrlFilters() {
  const params = new URLSearchParams();
  for (const [name, id] of URL_CONTROLS) {
    const value = controlValue($(id));
    if (value !== defaults.get(name)) params.set(name, value);
  }
  const query = params.toString();
  history.replaceState(null, '', `${location.pathname}${query ? `?${query}` : ''}${location.hash}`);
}

/** Which anomalies the anomalies table lists (the cards count the open ones), for the agent the filters pick. */
function anomalySelection() {
  return { anomalyStatus: $('anomalies-status').value || null, anomalyAgent: $('filter-agent').value || null };
}

/** Which findings the findings table lists (the chart and the cards count them all). */
function findingSelection() {
  const outcome = $('findings-outcome').value;
  return { outcomes: outcome ? outcome.split(',') : null, check: $('findings-check').value || null };
}

function fillSelect(select, values, label = (v) => v) {
  const keep = select.dataset.wanted ?? select.value;
  delete select.dataset.wanted;
  select.replaceChildren(select.options[0]);
  for (const value of values) select.append(el('option', { value }, label(value)));
  select.value = values.includes(keep) ? keep : '';
}

// ----- charts -------------------------------------------------------------------------------------------

const charts = new Map();

const BAR_HEIGHT = 26;

/**
 * Draws a chart with every category labelled (Chart.js skips labels that do not fit unless told not to); a
 * horizontal bar chart grows with its bars so the labels fit. With nothing to draw it says so instead of
 * showing bare axes.
 */
function drawChart(canvasId, config, summary, emptyText) {
  charts.get(canvasId)?.destroy();
  const canvas = $(canvasId);
  canvas.setAttribute('aria-label', summary);
  const box = canvas.parentElement;
  const empty = config.data.datasets.every((d) => d.data.every((v) => !v));
  box.classList.toggle('is-empty', empty);
  let message = box.querySelector('.chart-empty');
  if (!message) {
    message = el('p', { className: 'chart-empty' });
    box.append(message);
  }
  message.textContent = empty ? emptyText : '';
  message.hidden = !empty;
  const options = config.options ?? {};
  const categoryAxis = options.indexAxis === 'y' ? 'y' : 'x';
  if (config.type === 'bar') {
    options.scales ??= {};
    options.scales[categoryAxis] = { ...options.scales[categoryAxis], ticks: { autoSkip: false, ...options.scales[categoryAxis]?.ticks } };
  }
  box.style.height = options.indexAxis === 'y' ? `${Math.max(260, 60 + BAR_HEIGHT * config.data.labels.length)}px` : '';
  const base = { responsive: true, maintainAspectRatio: false, animation: false };
  for (const dataset of config.data.datasets) dataset.maxBarThickness ??= 48;
  charts.set(canvasId, new Chart(canvas, { ...config, options: { ...base, ...options } }));
}

function colourFor(label, labels) {
  return PALETTE[labels.indexOf(label) % PALETTE.length];
}

/** Every day from the first to the last one seen, so quiet days show as gaps rather than vanish. */
function dayRange(seen) {
  const sorted = [...new Set(seen)].sort();
  if (sorted.length === 0) return [];
  const days = [];
  for (let t = Date.parse(`${sorted[0]}T00:00:00Z`); t <= Date.parse(`${sorted.at(-1)}T00:00:00Z`); t += DAY_MS) days.push(isoDay(new Date(t)));
  return days;
}

function drawAccesses(byDay) {
  const days = dayRange(byDay.map((d) => d.day));
  const actors = [...new Set(byDay.map((d) => actorLabel(d.actorKind, d.actorId)))].sort();
  const datasets = actors.map((actor) => ({
    label: actor,
    backgroundColor: colourFor(actor, actors),
    data: days.map((day) => byDay.filter((d) => d.day === day && actorLabel(d.actorKind, d.actorId) === actor).reduce((n, d) => n + d.requests, 0)),
  }));
  const total = byDay.reduce((n, d) => n + d.requests, 0);
  drawChart(
    'accesses-chart',
    {
      type: 'bar',
      data: { labels: days, datasets },
      options: { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } } },
    },
    `Accesses per day by agent: ${total} requests over ${days.length} days by ${actors.length} callers.`,
    'No requests in this range.',
  );
}

function drawDecisions(breakdown) {
  const totals = new Map();
  for (const row of breakdown) totals.set(row.decision, (totals.get(row.decision) ?? 0) + row.count);
  const labels = [...totals.keys()];
  drawChart(
    'decisions-chart',
    {
      type: 'doughnut',
      data: { labels, datasets: [{ data: labels.map((l) => totals.get(l)), backgroundColor: labels.map((l) => DECISION_COLOURS[l] ?? '#868e96') }] },
      options: {
        // The pending slice leads to the approvals waiting for a decision.
        onClick: (_event, elements) => {
          if (elements.some((e) => labels[e.index] === 'pending_approval')) goToApprovals();
        },
        onHover: (event, elements) => {
          event.native.target.style.cursor = elements.some((e) => labels[e.index] === 'pending_approval') ? 'pointer' : '';
        },
      },
    },
    `Decisions: ${labels.map((l) => `${l} ${totals.get(l)}`).join(', ') || 'none'}.`,
    'No requests in this range.',
  );
  const refusals = breakdown.filter((row) => row.decision !== 'allowed');
  const codes = refusals.map((row) => row.code ?? row.decision);
  drawChart(
    'denials-chart',
    {
      type: 'bar',
      data: {
        labels: codes,
        datasets: [{ label: 'requests', data: refusals.map((r) => r.count), backgroundColor: refusals.map((r) => DECISION_COLOURS[r.decision] ?? '#868e96') }],
      },
      options: { indexAxis: 'y', plugins: { legend: { display: false } }, scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } },
    },
    `Refusal reasons: ${refusals.map((r) => `${r.code ?? r.decision} ${r.count}`).join(', ') || 'none'}.`,
    'No request was refused in this range.',
  );
}

const budgetLabel = (budget) => (budget.kind === 'dataset' ? `dataset ${budget.name}` : budget.name);

/** The share of ε used, with its level in words as well as in colour; a budget whose δ is exceeded is spent. */
function usedCell(budget) {
  const share = budget.epsilonSpent === null ? 1 : budget.epsilonLimit > 0 ? budget.epsilonSpent / budget.epsilonLimit : 1;
  const level = BUDGET_LEVELS.find((l) => share >= l.share);
  const cell = el('td', { className: `num${level ? ` level-${level.level}` : ''}` }, budget.epsilonSpent === null ? '—' : percent.format(share));
  if (level) cell.append(' ', el('span', { className: `level level-${level.level}` }, level.label));
  return cell;
}

function drawBudgets(report) {
  const rows = [...report.agents, ...report.datasets];
  const labels = rows.map((r) => `${budgetLabel(r)} · ${r.period}`);
  drawChart(
    'budget-chart',
    {
      type: 'bar',
      data: {
        labels,
        datasets: [
          { label: 'ε spent', data: rows.map((r) => r.epsilonSpent), backgroundColor: '#1f5fbf' },
          { label: 'ε limit', data: rows.map((r) => r.epsilonLimit), backgroundColor: '#ced4da' },
        ],
      },
      options: { indexAxis: 'y', scales: { x: { beginAtZero: true } } },
    },
    `Epsilon spent against budget: ${rows.map((r, i) => `${labels[i]} ${r.epsilonSpent === null ? 'over its δ' : fmt.format(r.epsilonSpent)} of ${fmt.format(r.epsilonLimit)}`).join(', ') || 'none'}.`,
    'No privacy budget in this range.',
  );
  fillBody(
    'budget-table',
    rows.map((r) =>
      el(
        'tr',
        {},
        el('th', { scope: 'row' }, budgetLabel(r)),
        el('td', {}, r.period),
        el('td', { className: 'num' }, r.epsilonSpent === null ? 'δ exceeded' : fmt.format(r.epsilonSpent)),
        numCell(r.epsilonLimit),
        numCell(r.epsilonRemaining),
        usedCell(r),
        el('td', {}, r.resetsAt ? time(r.resetsAt) : '—'),
        el('td', { className: 'num' }, `${small(r.deltaSpent)} / ${small(r.deltaLimit)}`),
        numCell(r.queries),
      ),
    ),
  );
  $('budget-note').textContent = report.note;
}

function drawFindingCounts(counts) {
  // The API lists the most severe first, so checks that denied something come first.
  const checks = [...new Set(counts.map((c) => c.check ?? 'unknown'))];
  const count = (check, outcome) => counts.filter((c) => (c.check ?? 'unknown') === check && c.outcome === outcome).reduce((n, c) => n + c.findings, 0);
  const datasets = OUTCOMES.map((outcome) => ({
    label: outcome,
    backgroundColor: OUTCOME_COLOURS[outcome],
    data: checks.map((check) => count(check, outcome)),
  }));
  drawChart(
    'findings-chart',
    {
      type: 'bar',
      data: { labels: checks, datasets },
      options: { indexAxis: 'y', scales: { x: { stacked: true, beginAtZero: true, ticks: { precision: 0 } }, y: { stacked: true } } },
    },
    `Compliance findings: ${checks.map((check) => `${check} ${OUTCOMES.map((o) => `${o} ${count(check, o)}`).join(' ')}`).join('; ') || 'none'}.`,
    'No compliance finding in this range.',
  );
}

function drawWithheld(rows) {
  // Per caller and withheld jurisdictions, over every table they were withheld from.
  const totals = new Map();
  for (const r of rows) {
    const key = `${actorLabel(r.actorKind, r.agent)} · ${r.jurisdictions.join('/')}`;
    totals.set(key, (totals.get(key) ?? 0) + r.rows);
  }
  const labels = [...totals.keys()];
  drawChart(
    'withheld-chart',
    {
      type: 'bar',
      data: { labels, datasets: [{ label: 'rows withheld', data: labels.map((l) => totals.get(l)), backgroundColor: '#7048e8' }] },
      options: { indexAxis: 'y', plugins: { legend: { display: false } }, scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } },
    },
    `Rows withheld by transfer rules: ${labels.map((l) => `${l} ${totals.get(l)}`).join(', ') || 'none'}.`,
    'No row was withheld in this range.',
  );
}

function drawSpecial(rows) {
  const labels = rows.map((r) => `${r.agent ?? 'anonymous'} · ${r.table}.${r.field} (${r.mask})`);
  drawChart(
    'special-chart',
    {
      type: 'bar',
      data: { labels, datasets: [{ label: 'records', data: rows.map((r) => r.records), backgroundColor: '#c2255c' }] },
      options: { indexAxis: 'y', plugins: { legend: { display: false } }, scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } },
    },
    `Special-category fields returned: ${labels.map((l, i) => `${l} ${rows[i].records}`).join(', ') || 'none'}.`,
    'No special-category field was returned in this range.',
  );
}

// ----- tables -------------------------------------------------------------------------------------------

const flowSource = (cell) => `${cell.agent ?? '—'} (${cell.agentLocation ?? '—'})`;

/** One row per agent (with its location: whether a flow crosses a border depends on it), one column per subject jurisdiction. */
function drawFlows(cells) {
  const table = $('flows');
  const caption = table.caption;
  const sources = [...new Set(cells.map(flowSource))].sort();
  const jurisdictions = [...new Set(cells.map((c) => c.subjectJurisdiction ?? '—'))].sort();
  const max = Math.max(1, ...cells.map((c) => c.records));
  const head = el(
    'thead',
    {},
    el('tr', {}, el('th', { scope: 'col' }, 'Agent (location) ↓ / subject →'), ...jurisdictions.map((j) => el('th', { scope: 'col' }, j))),
  );
  const body = el('tbody');
  for (const source of sources) {
    const row = el('tr', {}, el('th', { scope: 'row' }, source));
    for (const jurisdiction of jurisdictions) {
      const cell = cells.find((c) => flowSource(c) === source && (c.subjectJurisdiction ?? '—') === jurisdiction);
      if (!cell) {
        row.append(el('td', { className: 'empty' }, '·'));
        continue;
      }
      const strength = 0.15 + 0.85 * (cell.records / max);
      const td = el(
        'td',
        { className: cell.crossBorder ? 'cross' : '', title: `${cell.records} records, ${cell.subjects} subjects${cell.crossBorder ? ', cross-border' : ''}` },
        `${cell.records} (${cell.subjects})`,
      );
      td.style.backgroundColor = `rgba(31, 95, 191, ${strength.toFixed(2)})`;
      td.style.color = strength > 0.55 ? '#fff' : '#1d2430';
      row.append(td);
    }
    body.append(row);
  }
  table.replaceChildren(caption, head, body);
  if (cells.length === 0) body.append(el('tr', { className: 'empty-row' }, el('td', {}, 'No data-subject rows were returned in this range.')));
}

function fillBody(tableId, rows, emptyText = 'Nothing in this range.') {
  const body = $(tableId).tBodies[0];
  body.replaceChildren(...rows);
  if (rows.length === 0) {
    body.append(el('tr', { className: 'empty-row' }, el('td', { colspan: String($(tableId).tHead.rows[0].cells.length) }, emptyText)));
  }
}

const numCell = (value) => el('td', { className: 'num' }, fmt.format(value));

function drawAgents(summaries) {
  fillBody(
    'agents-table',
    summaries.map((s) =>
      el(
        'tr',
        {},
        el('th', { scope: 'row' }, actorLabel(s.actorKind, s.agent)),
        el('td', {}, s.location ?? '—'),
        numCell(s.requests),
        numCell(s.allowed),
        numCell(s.denied),
        numCell(s.errors),
        numCell(s.rows),
        numCell(s.distinctSubjects),
        numCell(s.withheldRows),
        numCell(s.epsilonSpent),
      ),
    ),
  );
}

/** Fetches one audit record and shows it in the record dialog. */
async function openRecordBySeq(seq) {
  try {
    const { auditRecord: record } = await officerGraphql(RECORD_QUERY, { seq });
    if (!record) throw new Error(`Audit record #${seq} is no longer in the log.`);
    clearError();
    openRecord(record);
  } catch (error) {
    handleFailure(error);
  }
}

const groupName = (g) => [actorLabel(g.actorKind, g.agent), g.check ?? '—', g.outcome ?? '—', g.jurisdiction ?? '—'].join(' · ');

/** Where an officer's decision on a group stands: new findings since it count against it. */
function groupStatus(g) {
  if (!g.ack) return 'new';
  const decided = `${g.ack.status} by ${g.ack.decidedBy} ${time(g.ack.decidedAt)}: ${g.ack.note}`;
  return g.newFindings > 0 ? `${decided} (${fmt.format(g.newFindings)} new since)` : decided;
}

function drawFindingGroups(groups) {
  fillBody(
    'findings-table',
    groups.map((g) => {
      const settled = g.ack !== null && g.newFindings === 0;
      const records = g.seqs.map((seq) => {
        const link = el('button', { type: 'button', className: 'link', 'aria-label': `Open audit record ${seq} of ${groupName(g)}` }, `#${seq}`);
        link.addEventListener('click', () => openRecordBySeq(seq));
        return link;
      });
      const decide = (resolve) => (note) =>
        officerGraphql(ACKNOWLEDGE_FINDINGS, { agent: g.agent, check: g.check, outcome: g.outcome, jurisdiction: g.jurisdiction, note, resolve });
      return el(
        'tr',
        { className: `${g.outcome ? `finding-${g.outcome}` : ''}${settled ? ` finding-${g.ack.status}` : ''}` },
        el('td', {}, actorLabel(g.actorKind, g.agent)),
        el('td', {}, g.check ?? '—'),
        el('td', {}, el('span', { className: `outcome outcome-${g.outcome ?? 'unknown'}` }, g.outcome ?? '—')),
        el('td', {}, g.jurisdiction ?? '—'),
        el('td', { className: 'wrap' }, g.rule ?? '—'),
        numCell(g.findings),
        numCell(g.newFindings),
        el('td', {}, time(g.lastSeen)),
        el('td', { className: 'wrap' }, `${fmt.format(g.records)}: `, ...records),
        el('td', { className: 'wrap' }, groupStatus(g)),
        el(
          'td',
          {},
          noteControl(`Decision on ${groupName(g)}`, 'what was checked', [
            { label: 'Acknowledge', name: `Acknowledge ${groupName(g)}`, run: decide(false) },
            { label: 'Resolve', name: `Resolve ${groupName(g)}`, run: decide(true) },
          ]),
        ),
      );
    }),
  );
}

/**
 * A note field and buttons that act with that note (an officer says why); refreshes once one has acted. An
 * action's name, when its label alone would not say what it acts on, is what a screen reader announces.
 */
function noteControl(label, placeholder, actions) {
  const note = el('input', { type: 'text', maxlength: '1000', placeholder, 'aria-label': `Note: ${label}` });
  const buttons = actions.map((action) => {
    const button = el('button', { type: 'button', ...(action.name ? { 'aria-label': action.name } : {}) }, action.label);
    button.addEventListener('click', async () => {
      if (!note.value.trim()) {
        showError(new Error(`${label}: write why in the note first.`));
        return;
      }
      for (const b of buttons) b.disabled = true;
      try {
        await action.run(note.value.trim());
        clearError();
        await refresh();
      } catch (error) {
        for (const b of buttons) b.disabled = false;
        handleFailure(error);
      }
    });
    return button;
  });
  return el('span', { className: 'inline' }, note, ...buttons);
}

/** A note field and a button that clears with that note (an officer says why it is acceptable). */
const clearControl = (label, clear) => noteControl(label, 'why it is acceptable', [{ label, run: clear }]);

const statisticLabel = (a) => (a.detail ? `${a.statistic} ${a.detail}` : a.statistic);

function drawAnomalies(anomalies, quarantines) {
  $('quarantines').replaceChildren(
    ...quarantines.map((q) =>
      el(
        'li',
        {},
        el('strong', {}, q.agent),
        ` quarantined since ${time(q.since)}: ${q.anomalies.length} open ${q.anomalies.length === 1 ? 'anomaly' : 'anomalies'}; every field it reads needs an approval.`,
        clearControl(`Clear quarantine of ${q.agent}`, (note) => officerGraphql(CLEAR_QUARANTINE, { agent: q.agent, note })),
      ),
    ),
  );
  fillBody(
    'anomalies-table',
    anomalies.map((a) =>
      el(
        'tr',
        { className: `anomaly-${a.status}${a.quarantines ? ' quarantining' : ''}`, 'data-anomaly': String(a.id) },
        el('td', {}, String(a.id)),
        el('td', {}, time(a.detectedAt)),
        el('td', {}, a.agent),
        el('td', {}, a.purpose),
        el('td', {}, statisticLabel(a)),
        numCell(a.value),
        el('td', { className: 'num' }, a.threshold === null ? '—' : fmt.format(a.threshold)),
        el('td', { className: 'num' }, a.baseline ? fmt.format(a.baseline.median) : '—'),
        numCell(a.occurrences),
        el('td', {}, a.quarantines ? 'yes' : 'no'),
        el('td', { className: 'wrap' }, a.status === 'open' ? 'open' : `cleared by ${a.clearedBy} ${time(a.clearedAt)}: ${a.note ?? ''}`),
        el('td', {}, a.status === 'open' ? clearControl(`Clear anomaly ${a.id}`, (note) => officerGraphql(CLEAR_ANOMALY, { id: a.id, note })) : ''),
      ),
    ),
  );
}

/** Runs an officer's decision from a button: disabled while it runs, the page refreshed once it is recorded. */
async function decide(button, action) {
  button.disabled = true;
  try {
    await action();
    clearError();
    await refresh();
  } catch (error) {
    button.disabled = false;
    handleFailure(error);
  }
}

/** Approve for a number of hours, or deny with a reason (required: the agent's developer reads it). */
function approvalControls(approval) {
  const what = `${approval.agent} ${approval.table}.${approval.field}`;
  const hours = el('input', { type: 'number', min: '1', max: '720', step: '1', value: '24', 'aria-label': `Hours to approve ${what} for` });
  const approve = el('button', { type: 'button' }, 'Approve');
  approve.setAttribute('aria-label', `Approve ${what}`);
  const reason = el('input', { type: 'text', maxlength: '1000', placeholder: 'reason', 'aria-label': `Reason for ${what}` });
  const deny = el('button', { type: 'button', className: 'secondary' }, 'Deny');
  deny.setAttribute('aria-label', `Deny ${what}`);
  const variables = (approve) => ({ id: approval.id, approve, reason: reason.value.trim() || null, hours: Number(hours.value) });
  approve.addEventListener('click', () => {
    if (!(Number(hours.value) > 0 && Number(hours.value) <= 720)) showError(new Error('Approve for between 1 and 720 hours.'));
    else decide(approve, () => officerGraphql(DECIDE_APPROVAL, variables(true)));
  });
  deny.addEventListener('click', () => {
    if (!reason.value.trim()) showError(new Error(`Deny ${what}: write the reason first.`));
    else decide(deny, () => officerGraphql(DECIDE_APPROVAL, { ...variables(false), hours: 24 }));
  });
  return el('div', { className: 'decide' }, el('span', { className: 'inline' }, hours, 'h', approve), el('span', { className: 'inline' }, reason, deny));
}

function drawApprovals(pending) {
  fillBody(
    'approvals-table',
    pending.map((a) =>
      el(
        'tr',
        { 'data-approval': String(a.id) },
        el('td', {}, String(a.id)),
        el('td', {}, time(a.requestedAt)),
        el('td', {}, a.agent),
        el('td', {}, a.purpose),
        el('td', {}, `${a.table}.${a.field}`),
        el('td', {}, approvalControls(a)),
      ),
    ),
    'No request is waiting for approval.',
  );
  const link = $('pending-link');
  link.hidden = pending.length === 0;
  link.firstElementChild.textContent = `${pending.length} ${pending.length === 1 ? 'request waits' : 'requests wait'} for your approval: open the approvals panel.`;
}

function goToApprovals() {
  $('approvals').scrollIntoView();
  $('approvals').focus();
}

// ----- rules history ------------------------------------------------------------------------------------

const shortHash = (hash) => hash.slice(0, 12);

/** What a version changed, file by file; the first version stored changed nothing, it only holds files. */
function changeSummary(v) {
  if (v.previousId === null) return `first version stored: ${plural(v.diff.added.length, 'file')}`;
  const files = [
    ...v.diff.added.map((path) => `added ${path}`),
    ...v.diff.removed.map((path) => `removed ${path}`),
    ...v.diff.changed.map((c) => `changed ${c.path} (+${c.linesAdded} −${c.linesRemoved})`),
  ];
  return files.join('; ') || 'no file changed';
}
let rulesVersions = [];

/** The version whose changes the panel shows: the one the selector (or the URL) names, else the one in force. */
function selectedRulesVersion() {
  return rulesVersions.find((v) => v.id === $('rules-version').value) ?? rulesVersions[0];
}

function drawRulesVersions(versions) {
  rulesVersions = versions;
  // The first is in force; each older one was in force until the next newer one replaced it.
  fillSelect(
    $('rules-version'),
    versions.slice(1).map((v) => v.id),
    (id) => `#${id}, in force from ${time(versions.find((v) => v.id === id).inForceAt)}`,
  );
  const selected = selectedRulesVersion();
  fillBody(
    'rules-table',
    versions.map((v, i) => {
      const show = el('button', { type: 'button', className: 'secondary', 'aria-label': `Show the changes of rules version ${v.id}` }, 'Show changes');
      show.addEventListener('click', () => {
        $('rules-version').value = i === 0 ? '' : v.id;
        showRulesChanges();
      });
      return el(
        'tr',
        { 'data-rules-version': v.id, className: v === selected ? 'rules-selected' : '' },
        el('th', { scope: 'row' }, `#${v.id}`),
        el('td', {}, i === 0 ? el('span', { className: 'badge in-force' }, 'in force') : 'replaced'),
        el('td', {}, time(v.inForceAt)),
        el('td', {}, i === 0 ? 'now' : time(versions[i - 1].inForceAt)),
        el('td', {}, el('code', { title: v.hash }, shortHash(v.hash))),
        el('td', { className: 'wrap' }, changeSummary(v)),
        el('td', {}, show),
      );
    }),
    'No rules version is stored yet: a broker stores one when it starts.',
  );
}

/** One file's changed lines, each with its sign, its line number and its text; the sign is spelt out for screen readers. */
function fileChanges(file) {
  const lines = file.lines.map((l) =>
    el(
      'li',
      { className: `diff-${l.op}` },
      el('span', { 'aria-hidden': 'true' }, l.op === 'added' ? '+' : '−'),
      el('span', { className: 'line-no' }, el('span', { className: 'sr-only' }, `${l.op} line `), String(l.line)),
      el('code', {}, l.text),
    ),
  );
  const more = file.omitted > 0 ? [el('p', { className: 'note' }, `${plural(file.omitted, 'more changed line')} not shown.`)] : [];
  return [el('h3', {}, `${file.path} (${file.status})`), el('ol', { className: 'diff', 'aria-label': `Changed lines of ${file.path}` }, ...lines), ...more];
}

function drawRulesChanges(version) {
  const out = $('rules-diff');
  if (!version) {
    out.replaceChildren();
    return;
  }
  const inForce = version.id === rulesVersions[0]?.id ? ' (in force)' : '';
  const against = version.previousId ? `against version #${version.previousId}` : 'the first version stored: every file is new';
  const summary = el('p', { className: 'rules-diff-title' }, `Version #${version.id}${inForce}, ${against}.`);
  const files = version.changes.flatMap(fileChanges);
  out.replaceChildren(summary, ...(files.length > 0 ? files : [el('p', { className: 'note' }, 'No file changed.')]));
}

async function fetchRulesChanges() {
  const selected = selectedRulesVersion();
  return selected ? (await officerGraphql(RULES_VERSION_QUERY, { id: selected.id })).rulesVersion : null;
}

/** Shows the selected version's changes (the selection kept in the URL) without redrawing the rest. */
async function showRulesChanges() {
  writeUrlFilters();
  const mine = ++generation;
  try {
    const version = await fetchRulesChanges();
    if (mine !== generation) return;
    clearError();
    drawRulesVersions(rulesVersions);
    drawRulesChanges(version);
    markLoaded(mine);
  } catch (error) {
    if (mine === generation) handleFailure(error);
  }
}

// ----- CSV export ---------------------------------------------------------------------------------------

// As the CLI's export (src/csv.ts): a text cell a spreadsheet would run as a formula gets a leading quote.
const FORMULA_START = /^[=+\-@\t\r]/;
const NUMBER = /^-?[\d,]*\.?\d+%?$/;

/** One RFC 4180 field: quoted when it holds a quote, comma or line break, quotes doubled. */
function csvField(text) {
  const safe = FORMULA_START.test(text) && !NUMBER.test(text) ? `'${text}` : text;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

/** The table as the officer sees it: header and rows, without control columns or the "nothing here" row. */
function tableCsv(table) {
  const skipped = new Set([...(table.tHead?.rows[0]?.cells ?? [])].flatMap((cell, i) => (cell.hasAttribute('data-csv-skip') ? [i] : [])));
  const rows = [...(table.tHead?.rows ?? []), ...[...table.tBodies].flatMap((b) => [...b.rows]).filter((r) => !r.classList.contains('empty-row'))];
  return rows
    .map((row) =>
      [...row.cells]
        .filter((_cell, i) => !skipped.has(i))
        .map((cell) => csvField(cell.textContent.trim()))
        .join(','),
    )
    .map((line) => `${line}\r\n`)
    .join('');
}

/** Hands the browser `blob` to save as `name`. */
function download(blob, name) {
  const url = URL.createObjectURL(blob);
  const link = el('a', { href: url, download: name });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 0);
}

function downloadCsv(table) {
  download(new Blob([tableCsv(table)], { type: 'text/csv;charset=utf-8' }), `keyhole-${table.dataset.csv}-${isoDay(new Date())}.csv`);
}

/** An "Export CSV" button above each exportable table. */
function addCsvButtons() {
  for (const table of document.querySelectorAll('table[data-csv]')) {
    const title = table.closest('section')?.querySelector('h2')?.textContent ?? table.dataset.csv;
    const button = el('button', { type: 'button', className: 'secondary csv', 'aria-label': `Export ${title} as CSV` }, 'Export CSV');
    button.addEventListener('click', () => downloadCsv(table));
    (table.closest('.scroll') ?? table).before(button);
  }
}

function openRecord(record) {
  $('record-title').textContent = `Audit record #${record.seq}`;
  $('record-json').textContent = JSON.stringify(record, null, 2);
  $('record-dialog').showModal();
}

function drawLog(records, total, offset) {
  fillBody(
    'log-table',
    records.map((r) => {
      const row = el(
        'tr',
        { tabindex: '0', 'data-seq': String(r.seq), 'aria-label': `Record ${r.seq}, ${r.decision}; open details` },
        el('td', {}, String(r.seq)),
        el('td', {}, time(r.recordedAt)),
        el('td', {}, actorLabel(r.actorKind, r.actorId)),
        el('td', {}, r.onBehalfOf ?? '—'),
        el('td', {}, r.purpose ?? '—'),
        el('td', { className: `decision-${r.decision}` }, r.decision),
        el('td', {}, r.code ?? ''),
        el('td', {}, r.tables.join(', ')),
        numCell(r.rowCount),
        numCell(r.subjectCount),
      );
      row.addEventListener('click', () => openRecord(r));
      row.addEventListener('keydown', (event) => {
        if (event.key === 'Enter' || event.key === ' ') {
          event.preventDefault();
          openRecord(r);
        }
      });
      return row;
    }),
  );
  const last = Math.min(total, offset + records.length);
  $('page-info').textContent = total === 0 ? 'No records' : `Records ${offset + 1}–${last} of ${total}`;
  $('page-prev').disabled = offset === 0;
  $('page-next').disabled = last >= total;
}

function drawCards(data) {
  const denied = data.decisionBreakdown.filter((d) => d.decision === 'denied').reduce((n, d) => n + d.count, 0);
  const findings = (outcome) => data.findingCounts.filter((c) => c.outcome === outcome).reduce((n, c) => n + c.findings, 0);
  const [denials, flags] = [findings('deny'), findings('flag')];
  $('total-requests').textContent = fmt.format(data.accessCount);
  $('total-denied').textContent = fmt.format(denied);
  $('total-deny-findings').textContent = fmt.format(denials);
  $('card-deny').classList.toggle('alert', denials > 0);
  $('total-flag-findings').textContent = fmt.format(flags);
  $('card-flag').classList.toggle('warn', flags > 0);
  $('total-withheld').textContent = fmt.format(data.withheldRows.reduce((n, w) => n + w.rows, 0));
  $('total-subjects').textContent = fmt.format(data.agentSummaries.reduce((n, s) => n + s.distinctSubjects, 0));
  $('total-epsilon').textContent = fmt.format(data.privacyBudgets.agents.reduce((n, a) => n + (a.epsilonSpent ?? 0), 0));
  $('total-anomalies').textContent = fmt.format(data.openAnomalies.length);
  $('card-anomalies').classList.toggle('warn', data.openAnomalies.length > 0);
  $('total-quarantined').textContent = fmt.format(data.quarantines.length);
  $('card-quarantined').classList.toggle('alert', data.quarantines.length > 0);
}

// ----- loading ------------------------------------------------------------------------------------------

let generation = 0;
let offset = 0;

/** Marks the page as showing the answer to request `n`, so readers (and tests) know the redraw finished. */
function markLoaded(n) {
  document.body.dataset.loaded = String(n);
}

async function refresh() {
  writeUrlFilters();
  const mine = ++generation;
  offset = 0;
  try {
    const data = await officerGraphql(DASHBOARD_QUERY, { filter: currentFilter(), limit: PAGE_SIZE, offset, ...findingSelection(), ...anomalySelection() });
    if (mine !== generation) return;
    clearError();
    drawCards(data);
    drawApprovals(data.pendingApprovals);
    drawAnomalies(data.anomalies, data.quarantines);
    drawAccesses(data.accessesByDay);
    drawDecisions(data.decisionBreakdown);
    drawBudgets(data.privacyBudgets);
    drawSpecial(data.specialCategoryAccess);
    drawFindingCounts(data.findingCounts);
    drawWithheld(data.withheldRows);
    drawFlows(data.crossBorderFlows);
    drawAgents(data.agentSummaries);
    drawFindingGroups(data.findingGroups);
    drawLog(data.accessLog, data.accessCount, offset);
    drawRulesVersions(data.rulesVersions);
    const changes = await fetchRulesChanges();
    if (mine !== generation) return;
    drawRulesChanges(changes);
    markLoaded(mine);
  } catch (error) {
    if (mine === generation) handleFailure(error);
  }
}

async function turnPage(delta) {
  const mine = ++generation;
  const next = Math.max(0, offset + delta * PAGE_SIZE);
  try {
    const data = await officerGraphql(LOG_QUERY, { filter: currentFilter(), limit: PAGE_SIZE, offset: next });
    if (mine !== generation) return;
    offset = next;
    drawLog(data.accessLog, data.accessCount, offset);
    markLoaded(mine);
  } catch (error) {
    if (mine === generation) handleFailure(error);
  }
}

async function verifyChain() {
  const badge = $('chain-status');
  badge.textContent = 'checking…';
  badge.className = 'badge';
  try {
    const { auditChainStatus: status } = await officerGraphql(CHAIN_QUERY);
    // The check resumes where the last one ended: the badge counts every record verified so far, its title says how.
    const verified = Number(status.verifiedThrough) - Number(status.prunedThrough ?? 0);
    badge.textContent = status.ok ? `intact (${verified} records)` : `BROKEN at #${status.firstBad.seq}: ${status.firstBad.problem}`;
    badge.className = `badge ${status.ok ? 'ok' : 'bad'}`;
    badge.title = status.ok ? status.coverage : status.firstBad.detail;
  } catch (error) {
    badge.textContent = 'not checked';
    handleFailure(error);
  }
}

/** The four answers to "who has seen this person?", in words; only SEEN names a pseudonym. */
function seenSummary(seen, asked) {
  switch (seen.outcome) {
    case 'NO_SUCH_SUBJECT':
      return `No customer has ${asked}: nothing can be said about who has seen them. Check the spelling, or try another identifier.`;
    case 'AMBIGUOUS':
      return `${seen.matches} customers have ${asked}: give an identifier that names one of them (an e-mail or national id).`;
    case 'NOT_SEEN':
      return `The customer with ${asked} (pseudonym ${seen.subject}) exists, and no request has returned data about them.`;
    default:
      return `The customer with ${asked} (pseudonym ${seen.subject}) was seen by ${seen.agents.join(', ')} in ${plural(seen.accesses.length, 'request')}.`;
  }
}

const plural = (n, noun) => `${fmt.format(n)} ${noun}${n === 1 ? '' : 's'}`;

/** A field an answer returned, with the mask that was applied to it and the rule that chose that mask. */
const appliedMask = (f) => `${f.table}.${f.field}: ${f.mask}${f.rule ? ` (${f.rule})` : ''}`;

async function lookUpSubject(kind, value, birthDate) {
  const out = $('seen-result');
  const subject = kind === 'name' ? { name: value, birthDate } : { [kind]: value };
  const asked = kind === 'customerId' ? `customer id ${value}` : `${SEEN_KINDS[kind].noun} “${value}”${kind === 'name' ? ` born ${birthDate}` : ''}`;
  try {
    const { whoHasSeen: seen } = await officerGraphql(SEEN_QUERY, { subject });
    clearError();
    const summary = el('p', { className: `seen-outcome seen-${seen.outcome.toLowerCase()}`, 'data-outcome': seen.outcome }, seenSummary(seen, asked));
    const rows = seen.accesses.map((a) =>
      el(
        'tr',
        {},
        el('td', {}, String(a.seq)),
        el('td', {}, time(a.recordedAt)),
        el('td', {}, a.agent ?? '—'),
        el('td', {}, a.purpose ?? '—'),
        el('td', {}, `${a.actorLocation ?? '—'} ← ${a.subjectJurisdiction ?? '—'}`),
        el('td', {}, a.fields.map(appliedMask).join(', ')),
      ),
    );
    const table = el(
      'table',
      {},
      el('thead', {}, el('tr', {}, ...['#', 'Time (UTC)', 'Agent', 'Purpose', 'Flow', 'Masks applied (rule)'].map((h) => el('th', { scope: 'col' }, h)))),
      el('tbody', {}, ...rows),
    );
    // Only a subject the identifier names has an access report; the request is audited like the lookup.
    const report = ['SEEN', 'NOT_SEEN'].includes(seen.outcome) ? [accessReportButton(subject, seen.subject)] : [];
    out.replaceChildren(summary, ...report, ...(rows.length > 0 ? [el('div', { className: 'scroll' }, table)] : []));
  } catch (error) {
    handleFailure(error);
  }
}

/** Downloads the JSON document answering this person's access request (GDPR Art. 15, PDPA s 21). */
function accessReportButton(subject, pseudonym) {
  const button = el('button', { type: 'button', className: 'secondary' }, 'Download access report (JSON)');
  button.addEventListener('click', async () => {
    try {
      const { dataSubjectAccessReport: report } = await officerGraphql(ACCESS_REPORT_QUERY, { subject });
      clearError();
      const json = `${JSON.stringify(report, null, 2)}\n`;
      download(new Blob([json], { type: 'application/json' }), `keyhole-access-report-${pseudonym.replace(/\W/g, '').slice(0, 16)}-${isoDay(new Date())}.json`);
    } catch (error) {
      handleFailure(error);
    }
  });
  return button;
}

/** Labels the value box for the chosen kind of identifier; a name needs its birth date. */
function showSeenKind() {
  const kind = SEEN_KINDS[$('seen-kind').value];
  $('seen-id-label').textContent = kind.label;
  $('seen-id').setAttribute('inputmode', kind.inputmode);
  const byName = $('seen-kind').value === 'name';
  $('seen-birth-date-label').hidden = !byName;
  $('seen-birth-date').required = byName;
}

function handleFailure(error) {
  showError(error);
  if (error instanceof OfficerApiError && (error.status === 401 || error.status === 403)) signOut({ keepError: true });
}

function signOut({ keepError = false } = {}) {
  sessionStorage.removeItem(TOKEN_KEY);
  generation += 1;
  for (const chart of charts.values()) chart.destroy();
  charts.clear();
  $('dashboard').hidden = true;
  $('sign-in').hidden = false;
  $('whoami').hidden = true;
  $('sign-out').hidden = true;
  delete document.body.dataset.loaded;
  if (!keepError) clearError();
}

async function startSession() {
  try {
    const { me, agents } = await officerGraphql(SESSION_QUERY);
    clearError();
    $('whoami').textContent = `Signed in as ${me.id} — ${me.description}`;
    $('whoami').hidden = false;
    $('sign-out').hidden = false;
    $('sign-in').hidden = true;
    $('dashboard').hidden = false;
    fillSelect(
      $('filter-agent'),
      agents.map((a) => a.id),
      (id) => `${id} (${agents.find((a) => a.id === id).location})`,
    );
    fillSelect($('filter-jurisdiction'), [...me.jurisdictions].sort());
    // One after the other: the chain check must not race the dashboard's own audit record being appended.
    await refresh();
    await verifyChain();
  } catch (error) {
    handleFailure(error);
  }
}

function wire() {
  defaultRange();
  readUrlFilters();
  addCsvButtons();
  $('sign-in-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const token = $('token').value.trim();
    if (!token) return;
    sessionStorage.setItem(TOKEN_KEY, token);
    $('token').value = '';
    startSession();
  });
  $('sign-out').addEventListener('click', () => signOut());
  $('filters').addEventListener('change', () => refresh());
  $('filters').addEventListener('submit', (event) => event.preventDefault());
  $('findings-filters').addEventListener('change', () => refresh());
  $('findings-filters').addEventListener('submit', (event) => event.preventDefault());
  $('anomalies-filters').addEventListener('change', () => refresh());
  $('anomalies-filters').addEventListener('submit', (event) => event.preventDefault());
  $('rules-filters').addEventListener('change', () => showRulesChanges());
  $('rules-filters').addEventListener('submit', (event) => event.preventDefault());
  $('page-prev').addEventListener('click', () => turnPage(-1));
  $('page-next').addEventListener('click', () => turnPage(1));
  $('verify-chain').addEventListener('click', () => verifyChain());
  $('pending-link').addEventListener('click', (event) => {
    event.preventDefault();
    goToApprovals();
  });
  $('seen-kind').addEventListener('change', () => showSeenKind());
  $('seen-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const value = $('seen-id').value.trim();
    if (value) lookUpSubject($('seen-kind').value, value, $('seen-birth-date').value);
  });
  if (sessionStorage.getItem(TOKEN_KEY)) startSession();
}

if (!Chart) showError(new Error('Chart.js did not load from /officer/assets/chart.js.'));
else wire();
