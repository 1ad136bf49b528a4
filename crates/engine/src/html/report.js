// The table of an iamsnap report. The objects are data (the block #rows); only the rows in
// view are drawn, so that 100,000 of them scroll, filter and sort at once. Every value is set
// as text (textContent), never parsed as HTML. The filters live in the address's fragment
// (#q=…&kind=…&action=…&sort=…&dir=…&row=…): a filtered view can be linked to, and it is
// applied through the same controls a reader types into.
(function () {
  'use strict';
  const $ = (id) => document.getElementById(id);
  const config = JSON.parse($('config').textContent);
  const rows = JSON.parse($('rows').textContent);
  const ROW = 30; // px, the CSS --row
  const AHEAD = 12; // rows drawn above and below the visible ones
  const q = $('q'), kindSel = $('kind'), actionSel = $('action'), count = $('count');
  const viewport = $('viewport'), spacer = $('spacer'), tbody = $('tbody'), thead = $('thead');
  const detail = $('detail');
  const number = new Intl.NumberFormat('en');

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  const actionOf = (r) => r[config.action_field];
  const has = (v) => v !== undefined && v !== null;
  function ids(r) {
    const a = has(r.old_id) ? r.old_id : r.snapshot_id;
    const b = has(r.new_id) ? r.new_id : r.live_id;
    if (has(a) && has(b) && a !== b) return a + ' → ' + b;
    return has(b) ? b : has(a) ? a : '';
  }
  function text(v) {
    if (!has(v)) return '';
    return typeof v === 'object' ? JSON.stringify(v) : String(v);
  }
  // Who made a change, as the audit events attached to it name them.
  function actor(e) {
    const a = e.actor;
    if (a && typeof a === 'object') {
      for (const k of ['name', 'display_name', 'displayName', 'login', 'alternate_id', 'id']) {
        if (typeof a[k] === 'string' && a[k]) return a[k];
      }
    }
    return text(a);
  }
  const events = (r) => (Array.isArray(r.events) ? r.events : []);
  const who = (r) => [...new Set(events(r).map(actor).filter((x) => x))].join(', ');
  const showWho = rows.some((r) => events(r).length > 0);

  const COLUMNS = {
    seq: { label: '#', width: '64px', num: true, value: (r) => (has(r.seq) ? r.seq + 1 : '') },
    step: { label: 'step', width: '56px', num: true, value: (r) => r.step },
    action: { label: config.action_field, width: '150px', badge: true, value: actionOf },
    op: { label: 'operation', width: '90px', value: (r) => r.action },
    kind: { label: 'kind', width: 'minmax(120px, 1fr)', value: (r) => r.kind },
    key: { label: 'key', width: 'minmax(160px, 2fr)', value: (r) => r.key },
    ids: { label: 'ids', width: 'minmax(100px, 1fr)', value: ids },
    fields: { label: 'fields', width: '64px', num: true, value: (r) => (r.fields ? r.fields.length : 0) },
    note: { label: 'what happened', width: 'minmax(160px, 2fr)', value: (r) => r.note || '' },
    who: { label: 'who', width: 'minmax(100px, 1fr)', value: who },
  };
  const columns = config.columns.concat(showWho ? ['who'] : []);
  $('table').style.setProperty('--cols', columns.map((c) => COLUMNS[c].width).join(' '));

  // What the search box looks through, made when first needed.
  const haystacks = new Array(rows.length);
  function haystack(i) {
    if (haystacks[i] === undefined) {
      const r = rows[i];
      const parts = [r.kind, r.key, actionOf(r), ids(r), r.note];
      for (const f of r.fields || []) parts.push(f.path, text(f.old), text(f.new));
      for (const e of events(r)) parts.push(text(e));
      for (const c of r.cannot_restore || []) parts.push(c);
      haystacks[i] = parts.filter(has).join('\n').toLowerCase();
    }
    return haystacks[i];
  }

  for (const k of config.kinds) kindSel.appendChild(new Option(k, k));
  for (const a of config.actions) actionSel.appendChild(new Option(a, a));

  let view = [];
  let sort = null, dir = 1, selected = -1;

  function apply() {
    const needle = q.value.trim().toLowerCase();
    const kind = kindSel.value, action = actionSel.value;
    view = [];
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i];
      if (kind && r.kind !== kind) continue;
      if (action && actionOf(r) !== action) continue;
      if (needle && !haystack(i).includes(needle)) continue;
      view.push(i);
    }
    if (sort) {
      const value = COLUMNS[sort].value, numeric = COLUMNS[sort].num;
      const keyed = view.map((i) => [value(rows[i]), i]);
      keyed.sort((a, b) => {
        const c = numeric ? a[0] - b[0] : String(a[0]).localeCompare(String(b[0]));
        return c * dir || a[1] - b[1];
      });
      view = keyed.map((k) => k[1]);
    }
    count.textContent = 'showing ' + number.format(view.length) + ' of ' + number.format(rows.length);
    spacer.style.height = view.length * ROW + 'px';
    drawn = null;
    draw();
    remember();
  }

  let drawn = null;
  function draw() {
    if (!view.length) {
      tbody.textContent = '';
      tbody.appendChild(el('div', 'empty', rows.length ? 'No object matches the filters.' : 'Nothing to list.'));
      drawn = null;
      return;
    }
    const top = viewport.scrollTop, height = viewport.clientHeight || 600;
    const first = Math.max(0, Math.floor(top / ROW) - AHEAD);
    const last = Math.min(view.length, Math.ceil((top + height) / ROW) + AHEAD);
    if (drawn && drawn[0] === first && drawn[1] === last) return;
    drawn = [first, last];
    const fragment = document.createDocumentFragment();
    for (let at = first; at < last; at++) fragment.appendChild(rowElement(view[at]));
    tbody.textContent = '';
    tbody.style.transform = 'translateY(' + first * ROW + 'px)';
    tbody.appendChild(fragment);
  }

  function rowElement(i) {
    const r = rows[i];
    const line = el('div', 'row' + (i === selected ? ' selected' : ''));
    line.setAttribute('role', 'row');
    line.tabIndex = 0;
    line.dataset.index = i;
    for (const c of columns) {
      const column = COLUMNS[c];
      const value = column.value(r);
      const cell = el('div', 'cell' + (column.num ? ' num' : ''));
      cell.setAttribute('role', 'cell');
      if (column.badge) {
        cell.appendChild(el('span', 'badge ' + String(value).replace(/[^a-z]+/g, '-'), value));
      } else {
        cell.textContent = text(value);
        cell.title = text(value);
      }
      line.appendChild(cell);
    }
    return line;
  }

  function select(i) {
    selected = i;
    for (const line of tbody.querySelectorAll('.row')) {
      line.classList.toggle('selected', Number(line.dataset.index) === i);
    }
    show(rows[i]);
    remember();
  }

  function value(v) {
    if (v === undefined) return el('span', 'absent', '(absent)');
    return el('pre', null, JSON.stringify(v, null, 2));
  }

  // One object in full: its fields side by side, what it referred to, who touched it.
  function show(r) {
    detail.textContent = '';
    if (!r) {
      detail.appendChild(el('p', 'empty', 'Select an object to see what differs, field by field.'));
      return;
    }
    const title = el('h3');
    title.appendChild(el('span', 'badge ' + String(actionOf(r)).replace(/[^a-z]+/g, '-'), actionOf(r)));
    title.appendChild(document.createTextNode(' '));
    title.appendChild(el('code', null, r.kind));
    title.appendChild(document.createTextNode(' ' + r.key));
    detail.appendChild(title);
    const facts = el('dl');
    const fact = (name, v) => {
      if (!has(v) || v === '') return;
      facts.appendChild(el('dt', null, name));
      facts.appendChild(el('dd', 'mono', text(v)));
    };
    fact('operation', config.report === 'outcome' ? r.action : null);
    fact('old id', r.old_id);
    fact('new id', r.new_id);
    fact('snapshot id', r.snapshot_id);
    fact('live id', r.live_id);
    fact('matched by', r.matched_by);
    fact('step', r.step);
    fact('what happened', r.note);
    detail.appendChild(facts);
    const fields = r.fields || [];
    if (fields.length) {
      detail.appendChild(el('h4', null, 'Fields (' + fields.length + ')'));
      const table = el('table', 'fields');
      const head = el('tr');
      for (const h of ['path (RFC 6901)', config.before, config.after]) head.appendChild(el('th', null, h));
      table.appendChild(head);
      for (const f of fields) {
        const line = el('tr');
        const path = el('td', 'path');
        path.appendChild(el('code', null, f.path));
        line.appendChild(path);
        const old = el('td', 'old');
        old.appendChild(value(f.old));
        const neu = el('td', 'new');
        neu.appendChild(value(f.new));
        line.appendChild(old);
        line.appendChild(neu);
        table.appendChild(line);
      }
      detail.appendChild(table);
    }
    const list = (heading, items, line) => {
      if (!items || !items.length) return;
      detail.appendChild(el('h4', null, heading));
      const ul = el('ul');
      for (const item of items) ul.appendChild(el('li', 'mono', line(item)));
      detail.appendChild(ul);
    };
    list('It referred to', r.refs, (x) => x.rel + ': ' + x.kind + ' ' + x.id);
    list('References to re-created objects', r.moved_refs, (x) => x.rel + ': ' + x.kind + ' ' + x.old_id + ' → ' + x.new_id);
    list('Cannot be restored', r.cannot_restore, (x) => x);
    const evs = events(r);
    if (evs.length) {
      detail.appendChild(el('h4', null, 'Who (audit events, ' + evs.length + ')'));
      const keys = ['time', 'actor', 'operation', 'client_ip'];
      for (const e of evs) for (const k of Object.keys(e)) if (!keys.includes(k)) keys.push(k);
      const table = el('table', 'events');
      const head = el('tr');
      for (const k of keys) head.appendChild(el('th', null, k.replace(/_/g, ' ')));
      table.appendChild(head);
      // Targets by name and type, as a reader looks for them; the ids stay in the data.
      const target = (t) => (t && typeof t === 'object' ? (t.name || t.id) + (t.type ? ' (' + t.type + ')' : '') : text(t));
      const cell = (e, k) => {
        if (k === 'actor') return actor(e);
        if (k === 'targets' && Array.isArray(e.targets)) return e.targets.map(target).join(', ');
        return text(e[k]);
      };
      for (const e of evs) {
        const line = el('tr');
        for (const k of keys) line.appendChild(el('td', 'mono', cell(e, k)));
        table.appendChild(line);
      }
      detail.appendChild(table);
    }
  }

  // The filters into the address's fragment, and back.
  function remember() {
    const p = new URLSearchParams();
    if (q.value) p.set('q', q.value);
    if (kindSel.value) p.set('kind', kindSel.value);
    if (actionSel.value) p.set('action', actionSel.value);
    if (sort) { p.set('sort', sort); p.set('dir', dir > 0 ? 'asc' : 'desc'); }
    if (selected >= 0) p.set('row', String(selected));
    const hash = p.toString();
    if (location.hash.slice(1) === hash) return;
    try { history.replaceState(null, '', hash ? '#' + hash : location.pathname + location.search); } catch (e) { /* a sandboxed viewer */ }
  }
  function restore() {
    const p = new URLSearchParams(location.hash.slice(1));
    const option = (sel, v) => (v && [...sel.options].some((o) => o.value === v) ? v : '');
    kindSel.value = option(kindSel, p.get('kind'));
    actionSel.value = option(actionSel, p.get('action'));
    const s = p.get('sort');
    sort = s && columns.includes(s) ? s : null;
    dir = p.get('dir') === 'desc' ? -1 : 1;
    const row = Number(p.get('row'));
    selected = p.has('row') && row >= 0 && row < rows.length ? row : -1;
    headings();
    // As if typed: the search box's own event applies every filter.
    q.value = p.get('q') || '';
    q.dispatchEvent(new Event('input'));
  }

  function headings() {
    thead.textContent = '';
    for (const c of columns) {
      const b = el('button', null, COLUMNS[c].label);
      b.setAttribute('role', 'columnheader');
      b.setAttribute('aria-sort', sort === c ? (dir > 0 ? 'ascending' : 'descending') : 'none');
      b.addEventListener('click', () => {
        dir = sort === c ? -dir : 1;
        sort = c;
        headings();
        apply();
      });
      thead.appendChild(b);
    }
  }

  let typing = null;
  q.addEventListener('input', (e) => {
    clearTimeout(typing);
    // Typed by a reader: wait for a pause when the table is long. Set from the address: now.
    if (e.isTrusted && rows.length > 20000) typing = setTimeout(apply, 150);
    else apply();
  });
  kindSel.addEventListener('change', apply);
  actionSel.addEventListener('change', apply);
  let frame = null;
  viewport.addEventListener('scroll', () => {
    if (frame === null) frame = requestAnimationFrame(() => { frame = null; draw(); });
  });
  window.addEventListener('resize', () => { drawn = null; draw(); });
  tbody.addEventListener('click', (e) => {
    const line = e.target.closest('.row');
    if (line) select(Number(line.dataset.index));
  });
  tbody.addEventListener('keydown', (e) => {
    const line = e.target.closest('.row');
    if (line && (e.key === 'Enter' || e.key === ' ')) { e.preventDefault(); select(Number(line.dataset.index)); }
  });
  for (const a of document.querySelectorAll('a.kind')) {
    a.addEventListener('click', (e) => {
      e.preventDefault();
      kindSel.value = a.dataset.kind;
      apply();
      $('objects').scrollIntoView();
    });
  }
  window.addEventListener('hashchange', restore);

  restore();
  if (location.hash.length > 1) {
    // Opened from a link to a view: show the table, and the chosen row in it.
    $('objects').scrollIntoView();
    const at = view.indexOf(selected);
    if (at >= 0) viewport.scrollTop = Math.max(0, at * ROW - viewport.clientHeight / 3);
    draw();
  }
  if (selected < 0) {
    // Open the first object that has fields to compare, so the page shows one at once.
    const first = view.find((i) => (rows[i].fields || []).length > 0);
    if (first !== undefined) { selected = first; drawn = null; draw(); }
  }
  show(selected >= 0 ? rows[selected] : null);
})();
