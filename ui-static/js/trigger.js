// trigger.js: the trigger form, generated from the DAG's params.
//
// GET /dags/{id}/details gives each param as Airflow's Param object:
//   {"value": default, "schema": {"type", "enum", "minimum", "maximum",
//    "pattern", "format": "wkt"|"geojson"}, "required", "description"}.
// Each becomes a control: enum -> select, boolean -> checkbox, integer and
// number -> number input, object/array/geojson -> JSON text area, wkt ->
// text area, string -> text input.
//
// The browser checks what it can before sending (required, type, enum,
// range, pattern, JSON syntax) and shows the message under the field.  The
// server checks everything again; its answer names the field
// ({"error": {"field": "conf.NAME"}}) and the message goes under that
// field the same way.  Patterns are POSIX extended regular expressions on
// the server; the browser checks one only when it has no backslash and no
// POSIX bracket class ([:alpha:] ...), where the two dialects agree, and
// otherwise leaves it to the server.

import {h, replace, notice} from './dom.js';
import {localInputToIso} from './fmt.js';

function fieldId(name) {
  return `p-${name}`;
}

function kindOf(p) {
  const sc = p.schema || {};
  if (Array.isArray(sc.enum)) return 'enum';
  if (sc.format === 'wkt') return 'wkt';
  if (sc.format === 'geojson') return 'json';
  switch (sc.type) {
    case 'boolean': return 'boolean';
    case 'integer': return 'integer';
    case 'number': return 'number';
    case 'object': case 'array': return 'json';
    default: return 'string';
  }
}

// A RegExp for the whole-string match, or null when the browser should not judge.
export function clientPattern(pattern) {
  if (typeof pattern !== 'string' || /\\|\[[:=.]/.test(pattern)) return null;
  try {
    return new RegExp(`^(?:${pattern})$`, 'u');
  } catch {
    return null;
  }
}

function control(name, p) {
  const id = fieldId(name), sc = p.schema || {}, kind = kindOf(p);
  const common = {id, name, 'aria-describedby': `${id}-msg ${id}-help`, 'data-kind': kind};
  const def = p.value;
  switch (kind) {
    case 'enum': {
      const sel = h('select', common);
      if (!p.required || def == null) sel.appendChild(h('option', {value: ''}, p.required ? '(choose)' : '(not set)'));
      sc.enum.forEach((v, i) => {
        const o = h('option', {value: String(i)}, typeof v === 'string' ? v : JSON.stringify(v));
        if (def !== undefined && JSON.stringify(v) === JSON.stringify(def)) o.selected = true;
        sel.appendChild(o);
      });
      return sel;
    }
    case 'boolean':
      return h('input', {...common, type: 'checkbox', checked: def === true});
    case 'integer':
    case 'number':
      return h('input', {...common, type: 'number', step: kind === 'integer' ? '1' : 'any', inputmode: 'decimal',
        min: sc.minimum, max: sc.maximum, value: def == null ? '' : String(def)});
    case 'json':
      return h('textarea', {...common, rows: 4, spellcheck: 'false'}, def == null ? '' : JSON.stringify(def, null, 2));
    case 'wkt':
      return h('textarea', {...common, rows: 3, spellcheck: 'false', placeholder: 'POLYGON((lon lat, ...))'},
        def == null ? '' : String(def));
    default:
      return h('input', {...common, type: 'text', value: def == null ? '' : String(def), spellcheck: 'false'});
  }
}

function helpText(p) {
  const sc = p.schema || {}, bits = [];
  const kind = kindOf(p);
  bits.push(sc.format || sc.type || 'string');
  if (sc.minimum != null) bits.push(`≥ ${sc.minimum}`);
  if (sc.maximum != null) bits.push(`≤ ${sc.maximum}`);
  if (sc.pattern) bits.push(`matches ${sc.pattern}`);
  if (kind === 'json') bits.push('JSON');
  if (p.value !== undefined && p.value !== null && kind !== 'boolean') bits.push(`default ${JSON.stringify(p.value)}`);
  return bits.join(' · ');
}

// Reads and checks one param; {ok, value, set, message}.
export function readParam(el, p) {
  const sc = p.schema || {}, kind = el.dataset.kind;
  const fail = (message) => ({ok: false, message});
  if (kind === 'boolean') return {ok: true, set: true, value: el.checked};
  const raw = el.value;
  if (raw.trim() === '') {
    if (p.required) return fail('A value is required.');
    return {ok: true, set: false};
  }
  let value;
  switch (kind) {
    case 'enum':
      value = sc.enum[Number(raw)];
      break;
    case 'integer':
      value = Number(raw);
      if (!/^[+-]?\d+$/.test(raw.trim()) || !Number.isSafeInteger(value)) return fail('Enter a whole number.');
      break;
    case 'number':
      value = Number(raw);
      if (!Number.isFinite(value)) return fail('Enter a number.');
      break;
    case 'json':
      try {
        value = JSON.parse(raw);
      } catch (e) {
        return fail(`Not valid JSON: ${e.message}`);
      }
      if (sc.type === 'array' && !Array.isArray(value)) return fail('Enter a JSON array ([...]).');
      if ((sc.type === 'object' || sc.format === 'geojson') && (typeof value !== 'object' || value === null || Array.isArray(value))) {
        return fail('Enter a JSON object ({...}).');
      }
      break;
    default:
      value = raw;
  }
  if (typeof value === 'number') {
    if (sc.minimum != null && value < sc.minimum) return fail(`Must be at least ${sc.minimum}.`);
    if (sc.maximum != null && value > sc.maximum) return fail(`Must be at most ${sc.maximum}.`);
  }
  if (typeof value === 'string' && sc.pattern) {
    const re = clientPattern(sc.pattern);
    if (re && !re.test(value)) return fail(`Must match the pattern ${sc.pattern}.`);
  }
  return {ok: true, set: true, value};
}

function setMsg(form, id, text) {
  const input = form.querySelector(`#${CSS.escape(id)}`);
  const msg = form.querySelector(`#${CSS.escape(id)}-msg`);
  if (msg) msg.textContent = text || '';
  if (input) {
    if (text) input.setAttribute('aria-invalid', 'true');
    else input.removeAttribute('aria-invalid');
  }
}

export function buildTriggerForm(details, {onSubmit}) {
  const params = details.params || {};
  const names = Object.keys(params);
  const status = h('div', {id: 'trigger-status', 'aria-live': 'polite'});
  const fields = names.map((name) => {
    const p = params[name];
    const id = fieldId(name);
    const ctl = control(name, p);
    const label = kindOf(p) === 'boolean'
      ? h('label', {class: 'check', for: id}, ctl, name)
      : h('label', {for: id}, name, p.required ? h('span', {class: 'req', 'aria-label': 'required'}, '*') : null);
    return h('div', {class: 'field', 'data-param': name},
      label, kindOf(p) === 'boolean' ? null : ctl,
      h('div', {class: 'help', id: `${id}-help`}, p.description ? `${p.description} — ${helpText(p)}` : helpText(p)),
      h('div', {class: 'msg', id: `${id}-msg`, role: 'alert'}));
  });
  const adv = h('details', {class: 'field'},
    h('summary', 'Run options'),
    h('div', {class: 'field'}, h('label', {for: 'f-run-id'}, 'Run ID'),
      h('input', {id: 'f-run-id', type: 'text', placeholder: 'generated when empty', 'aria-describedby': 'f-run-id-msg', spellcheck: 'false'}),
      h('div', {class: 'msg', id: 'f-run-id-msg', role: 'alert'})),
    h('div', {class: 'field'}, h('label', {for: 'f-logical-date'}, 'Logical date (your time zone)'),
      h('input', {id: 'f-logical-date', type: 'datetime-local', 'aria-describedby': 'f-logical-date-msg'}),
      h('div', {class: 'msg', id: 'f-logical-date-msg', role: 'alert'})),
    h('div', {class: 'field'}, h('label', {for: 'f-note'}, 'Note'),
      h('input', {id: 'f-note', type: 'text', 'aria-describedby': 'f-note-msg'}),
      h('div', {class: 'msg', id: 'f-note-msg', role: 'alert'})),
    h('div', {class: 'field'}, h('label', {for: 'f-conf'}, 'More conf (JSON object, merged; keys that name params are checked as params)'),
      h('textarea', {id: 'f-conf', rows: 3, spellcheck: 'false', placeholder: '{}', 'aria-describedby': 'f-conf-msg'}),
      h('div', {class: 'msg', id: 'f-conf-msg', role: 'alert'})));
  const submit = h('button', {type: 'submit', class: 'btn primary', id: 'trigger-submit'}, 'Trigger run');
  const form = h('form', {class: 'form', id: 'trigger-form', novalidate: true},
    names.length ? null : h('p', {class: 'muted'}, 'This DAG declares no params.'),
    ...fields, adv, status, submit);

  const otherFields = {dag_run_id: 'f-run-id', logical_date: 'f-logical-date', execution_date: 'f-logical-date',
    data_interval_start: 'f-logical-date', data_interval_end: 'f-logical-date', note: 'f-note', conf: 'f-conf'};

  function clearMsgs() {
    for (const m of form.querySelectorAll('.msg')) m.textContent = '';
    for (const i of form.querySelectorAll('[aria-invalid]')) i.removeAttribute('aria-invalid');
    replace(status);
  }

  function showServerError(err) {
    const f = err.field || '';
    let id = null;
    if (f.startsWith('conf.') && names.includes(f.slice(5))) id = fieldId(f.slice(5));
    else if (names.includes(f)) id = fieldId(f);
    else if (otherFields[f]) id = otherFields[f];
    if (id) {
      if (id === 'f-run-id' || id === 'f-logical-date' || id === 'f-note' || id === 'f-conf') adv.open = true;
      setMsg(form, id, err.message);
      const el = form.querySelector(`#${CSS.escape(id)}`);
      if (el) el.focus();
      replace(status, notice('bad', `The server refused the run: ${err.message}`));
    } else {
      replace(status, notice('bad', `The server refused the run (HTTP ${err.status}): ${err.message}`));
    }
  }

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearMsgs();
    const conf = {};
    let firstBad = null;
    for (const name of names) {
      const el = form.querySelector(`#${CSS.escape(fieldId(name))}`);
      const r = readParam(el, params[name]);
      if (!r.ok) {
        setMsg(form, fieldId(name), r.message);
        firstBad = firstBad || el;
      } else if (r.set) {
        conf[name] = r.value;
      }
    }
    const extra = form.querySelector('#f-conf').value.trim();
    if (extra) {
      try {
        const o = JSON.parse(extra);
        if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new Error('not an object');
        for (const [k, v] of Object.entries(o)) if (!(k in conf)) conf[k] = v;
      } catch (e) {
        adv.open = true;
        setMsg(form, 'f-conf', `Enter a JSON object: ${e.message}`);
        firstBad = firstBad || form.querySelector('#f-conf');
      }
    }
    const body = {conf};
    const runId = form.querySelector('#f-run-id').value.trim();
    if (runId) body.dag_run_id = runId;
    const ld = form.querySelector('#f-logical-date').value;
    if (ld) {
      const iso = localInputToIso(ld);
      if (!iso) {
        adv.open = true;
        setMsg(form, 'f-logical-date', 'Not a date and time.');
        firstBad = firstBad || form.querySelector('#f-logical-date');
      } else {
        body.logical_date = iso;
      }
    }
    const note = form.querySelector('#f-note').value.trim();
    if (note) body.note = note;
    if (firstBad) {
      replace(status, notice('bad', 'Fix the marked fields.'));
      firstBad.focus();
      return;
    }
    submit.disabled = true;
    replace(status, notice('info', 'Creating the run…'));
    try {
      await onSubmit(body);
    } catch (e) {
      if (e.name === 'AbortError') return;
      showServerError(e);
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}
