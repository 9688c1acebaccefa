// The grid editor's browser side (trm_viz/ui/grid_editor.py: GridEditor): run by gr.HTML's js_on_load with
// element, props, trigger and watch in scope. MAZE_TOOLS is filled in by the Python side.
const el = element;
// Screen readers: the grid is an ARIA grid that takes the keyboard focus itself (so a screen reader switches to
// its focus mode and lets digits and arrows through), its selected cell is its aria-activedescendant, every cell
// is named "row r, column c: value", and what an edit did is said in a polite live region that outlives redraws.
const uid = 'ge' + Math.random().toString(36).slice(2, 9);
function shell() {             // the drawn part and the live region (made again should the root ever be emptied)
  if (!el.querySelector('.ge-body')) el.innerHTML = '<div class="ge-body"></div><div class="ge-live" aria-live="polite"></div>';
  return el.querySelector('.ge-body');
}
const say = (text) => {
  shell();
  const live = el.querySelector('.ge-live');
  live.textContent = '';
  setTimeout(() => { live.textContent = text; }, 30);
};
const gridEl = () => el.querySelector('.ge-grid');
let sel = null;             // [r, c] selected cell (sudoku), kept here so no re-render loses it
let tool = null;            // code painted by maze / arc tools
let drag = null;            // {work, last, dirty} while a paint gesture is under way

const legendMap = () => {
  const m = new Map();
  for (const [code, label, color] of (props.legend || [])) m.set(Number(code), {label: String(label), color: String(color)});
  return m;
};
const grid = () => Array.isArray(props.value) ? props.value : [];
const dims = () => [grid().length, grid().length ? grid()[0].length : 0];
// "Large text" zooms the grid (zoom: 1.3 in the page's CSS), and a zoomed grid must fit too.
const zoom = () => { const g = gridEl(); return (g && parseFloat(getComputedStyle(g).zoom)) || 1; };
// Cells fit the column (an overflowing grid covers its neighbours and steals their clicks): at most 32 px, at
// most 480 px in all, never wider than this component.
const cellPx = () => {
  const [h, w] = dims();
  if (props.cell_px > 0) return props.cell_px;
  const room = Math.min(480, ((el.clientWidth || 480) - 6) / zoom());
  return Math.max(6, Math.min(32, Math.floor(room / Math.max(w, 1)), Math.floor(480 / Math.max(h, 1))));
};
const tools = () => {
  const lm = legendMap();
  if (props.mode === 'maze') return MAZE_TOOLS.map(([code, name]) => ({code, name, color: (lm.get(code) || {}).color || '#ccc'}));
  if (props.mode === 'arc') return [...lm.entries()].map(([code, v]) => ({code, name: v.label.split(' ')[0], title: v.label, color: v.color}));
  return [];
};
const esc = (s) => String(s).replace(/[&<>"]/g, (ch) => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;'})[ch]);
// What a cell holds, in words: a Sudoku digit or "blank", a maze's "wall" / "open" / "start" / "goal", an ARC
// colour with its number ("3 green").
function spoken(code) {
  const v = legendMap().get(code);
  if (!v) return String(code);
  return props.mode === 'maze' ? v.label.split(' ')[0] : v.label;
}
const cellName = (r, c, code) => `row ${r + 1}, column ${c + 1}: ${spoken(code)}`;

function cellStyle(code) {
  const v = legendMap().get(code) || {label: String(code), color: '#ffffff'};
  // Sudoku shows its digits; a maze marks start and goal with their letter (legend label "start S" -> "S").
  const letter = v.label.split(' ').pop();
  const text = props.mode === 'sudoku' ? (code === 0 ? '' : v.label) : (props.mode === 'maze' && (code === 2 || code === 3) && letter.length === 1 ? letter : '');
  return [v.color, text];
}
function paintDom(r, c, code) {
  const cell = el.querySelector(`.ge-cell[data-r="${r}"][data-c="${c}"]`);
  if (!cell) return;
  const [color, text] = cellStyle(code);
  cell.style.background = color;
  cell.textContent = text;
  cell.dataset.v = code;
  cell.setAttribute('aria-label', cellName(r, c, code));
}
function markClashes(work) {                   // Sudoku: digits that repeat in a row, column or box, shown at once
  if (props.mode !== 'sudoku' || work.length !== 9) return;
  const bad = new Set();
  const units = [];
  for (let k = 0; k < 9; k++) {
    units.push([...Array(9).keys()].map((j) => [k, j]), [...Array(9).keys()].map((i) => [i, k]),
               [...Array(9).keys()].map((j) => [3 * Math.floor(k / 3) + Math.floor(j / 3), 3 * (k % 3) + (j % 3)]));
  }
  for (const unit of units) {
    const seen = new Map();
    for (const [r, c] of unit) {
      const v = Number(work[r][c]);
      if (!v) continue;
      if (seen.has(v)) { bad.add(`${r},${c}`); bad.add(seen.get(v)); } else seen.set(v, `${r},${c}`);
    }
  }
  el.querySelectorAll('.ge-cell').forEach((x) => {
    const clash = bad.has(`${x.dataset.r},${x.dataset.c}`);
    x.classList.toggle('clash', clash);
    if (clash) x.setAttribute('aria-invalid', 'true'); else x.removeAttribute('aria-invalid');
  });
  return bad;
}
let lastMode = null;
function render() {
  const [h, w] = dims();
  if (props.mode !== lastMode) {          // another puzzle type: no selection or announcement carries over
    lastMode = props.mode;
    sel = null;
    tool = null;                          // a maze tool and an ARC colour share codes, not meanings
    const l = el.querySelector('.ge-live');
    if (l) l.textContent = '';
  }
  const ts = tools();
  if (ts.length && !ts.some((t) => t.code === tool)) tool = ts[props.mode === 'arc' && ts.length > 1 ? 1 : 0].code;
  if (sel && (sel[0] >= h || sel[1] >= w)) sel = null;
  const px = cellPx();
  let html = '';
  if (ts.length) {
    // One choice of several: a radio group, one Tab stop (the chosen tool), arrow keys move the choice.
    html += `<div class="ge-tools" role="radiogroup" aria-label="${props.mode === 'arc' ? 'Paint colour' : 'Paint tool'}">`
      + ts.map((t) =>
      `<button type="button" class="ge-tool${t.code === tool ? ' on' : ''}" data-tool="${t.code}" role="radio"`
      + ` aria-checked="${t.code === tool}" tabindex="${t.code === tool ? 0 : -1}"`
      + ` aria-label="${esc(t.title || t.name)}" title="${esc(t.title || t.name)}">`
      + `<span class="ge-swatch" style="background:${esc(t.color)}"></span>${esc(t.name)}</button>`).join('') + '</div>';
  }
  const focused = document.activeElement === gridEl();       // a redraw keeps the keyboard focus on the grid
  const body = shell();
  if (!h || !w) {
    body.innerHTML = html + '<div class="ge-empty">No grid yet.</div>';
    return;
  }
  const box = props.mode === 'sudoku' && h === 9 && w === 9;
  const what = {sudoku: 'Sudoku', maze: 'Maze', arc: 'ARC grid'}[props.mode] || 'Grid';
  html += `<div class="ge-grid ${esc(props.mode)}" role="grid" tabindex="0" aria-label="${what}, ${h} by ${w}"`
    + ` aria-rowcount="${h}" aria-colcount="${w}" style="grid-template-columns: repeat(${w}, ${px}px);`
    + ` grid-auto-rows: ${px}px; font-size: ${Math.round(px * 0.6)}px">`;
  for (let r = 0; r < h; r++) {
    html += `<div role="row" aria-label="row ${r + 1}" style="display: contents">`;   // ARIA rows; CSS lays out cells
    for (let c = 0; c < w; c++) {
      const code = Number(grid()[r][c]);
      const [color, text] = cellStyle(code);
      let cls = 'ge-cell';
      if (box && r % 3 === 0 && r) cls += ' bt';
      if (box && c % 3 === 0 && c) cls += ' bl';
      const on = sel && sel[0] === r && sel[1] === c;
      if (on) cls += ' sel';
      html += `<div class="${cls}" role="gridcell" id="${uid}-${r}-${c}" aria-selected="${!!on}"`
        + ` aria-label="${esc(cellName(r, c, code))}" data-r="${r}" data-c="${c}" data-v="${code}"`
        + ` style="background:${esc(color)}">${esc(text)}</div>`;
    }
    html += '</div>';
  }
  html += '</div>';
  if (props.mode === 'sudoku') {       // a digit pad: a phone or a touch board has no keys to type with
    html += '<div class="ge-pad" role="group" aria-label="Digit for the selected cell">'
      + [1, 2, 3, 4, 5, 6, 7, 8, 9].map((d) => `<button type="button" class="ge-digit" data-digit="${d}" tabindex="-1">${d}</button>`).join('')
      + '<button type="button" class="ge-digit" data-digit="0" tabindex="-1" aria-label="clear the cell">\u232B</button></div>';
  }
  const help = {sudoku: 'Tap or click a cell, then a digit below (or type 1-9; Backspace, Delete or 0 clears; arrow '
                  + 'keys move).',
                maze: 'Pick a tool, then tap, click or drag on the grid (or arrow keys and Space). Start and goal move '
                  + 'to where you put them.',
                arc: 'Pick a colour, then tap, click or drag on the grid (or arrow keys and Space).'}[props.mode] || '';
  body.innerHTML = html + `<div class="ge-help" id="${uid}-help">${help}</div>`;
  gridEl().setAttribute('aria-describedby', `${uid}-help`);
  if (sel) gridEl().setAttribute('aria-activedescendant', `${uid}-${sel[0]}-${sel[1]}`);
  markClashes(grid());
  if (focused) gridEl().focus({preventScroll: true});
  keyboardRing();
}
function select(r, c) {
  el.querySelectorAll('.ge-cell.sel').forEach((x) => { x.classList.remove('sel'); x.setAttribute('aria-selected', 'false'); });
  sel = [r, c];
  const cell = el.querySelector(`.ge-cell[data-r="${r}"][data-c="${c}"]`);
  if (cell) { cell.classList.add('sel'); cell.setAttribute('aria-selected', 'true'); }
  if (gridEl()) gridEl().setAttribute('aria-activedescendant', `${uid}-${r}-${c}`);
}
function pickTool(button) {
  tool = Number(button.dataset.tool);
  el.querySelectorAll('.ge-tool').forEach((b) => {
    b.classList.toggle('on', b === button);
    b.setAttribute('aria-checked', String(b === button));
    b.tabIndex = b === button ? 0 : -1;
  });
}
function commit(work) { props.value = work; }   // one new array per edit: one .change event
function paint(work, r, c) {
  const old = work[r][c];
  let code = tool;
  if (props.mode === 'maze') {
    if (code === 2 || code === 3) {                   // exactly one start / goal: clear the old one first
      for (let i = 0; i < work.length; i++) for (let j = 0; j < work[i].length; j++)
        if (work[i][j] === code && (i !== r || j !== c)) { work[i][j] = 1; paintDom(i, j, 1); }
    } else if (old === 2 || old === 3) return false;  // painting walls never erases the start or the goal
  }
  if (old === code) return false;
  work[r][c] = code;
  paintDom(r, c, code);
  return true;
}
function cellAt(x, y) {
  const hit = document.elementFromPoint(x, y);
  const cell = hit && hit.closest ? hit.closest('.ge-cell') : null;
  return cell && el.contains(cell) ? [Number(cell.dataset.r), Number(cell.dataset.c)] : null;
}
function line(r0, c0, r1, c1) {                       // Bresenham: every cell between two pointer samples
  const pts = [];
  const dr = Math.abs(r1 - r0), dc = Math.abs(c1 - c0), sr = r0 < r1 ? 1 : -1, sc = c0 < c1 ? 1 : -1;
  let err = dc - dr;
  for (;;) {
    pts.push([r0, c0]);
    if (r0 === r1 && c0 === c1) break;
    const e2 = 2 * err;
    if (e2 > -dr) { err -= dr; c0 += sc; }
    if (e2 < dc) { err += dc; r0 += sr; }
  }
  return pts;
}
function endDrag() {
  if (!drag) return;
  const d = drag;
  drag = null;
  if (d.dirty) commit(d.work);
}
el.addEventListener('pointerdown', (e) => {
  const t = e.target.closest ? e.target.closest('.ge-tool') : null;
  if (t) { pickTool(t); return; }
  const at = cellAt(e.clientX, e.clientY);
  if (!at) return;
  e.preventDefault();
  gridEl().focus({preventScroll: true});
  select(at[0], at[1]);                       // the keyboard goes on from where the pointer was
  if (props.mode === 'sudoku') return;
  const work = grid().map((row) => row.slice());
  drag = {work, last: at, dirty: paint(work, at[0], at[1])};
  try { el.setPointerCapture(e.pointerId); } catch (err) { /* synthetic events have no capturable pointer */ }
});
el.addEventListener('pointermove', (e) => {
  if (!drag) return;
  const at = cellAt(e.clientX, e.clientY);
  if (!at || (at[0] === drag.last[0] && at[1] === drag.last[1])) return;
  const pts = (tool === 2 || tool === 3) && props.mode === 'maze' ? [at] : line(drag.last[0], drag.last[1], at[0], at[1]);
  for (const [r, c] of pts) drag.dirty = paint(drag.work, r, c) || drag.dirty;
  drag.last = at;
});
el.addEventListener('pointerup', endDrag);
el.addEventListener('pointercancel', endDrag);
el.addEventListener('lostpointercapture', endDrag);
// Keyboard: Tab into the grid selects a cell (ringed, and the grid outlined); arrows move it; Sudoku digits type,
// a maze or ARC tool paints with Space or Enter; Enter or Space on a tool button picks it.
let pointed = false, pointedAt = 0;    // the last input was a pointer (a tap gets no keyboard outline)
function keyboardRing() {
  const g = gridEl();
  if (g) g.classList.toggle('kbd', !pointed && document.activeElement === g && g.matches(':focus-visible'));
}
el.addEventListener('pointerdown', () => { pointed = true; pointedAt = performance.now(); keyboardRing(); }, true);
el.addEventListener('focusin', (e) => {
  if (performance.now() - pointedAt > 300) pointed = false;      // focus that no press brought: Tab, a script
  if (e.target !== gridEl()) return;
  if (!e.target.matches(':focus-visible')) return;    // a pointer's focus selects where it pressed instead
  const [h, w] = dims();
  if (!sel && h && w) select(0, 0);
  keyboardRing();
});
el.addEventListener('focusout', () => setTimeout(keyboardRing, 0));
el.addEventListener('mousedown', (e) => {       // a pad press leaves the focus in the grid: keys go on typing
  if (e.target.closest && e.target.closest('.ge-digit')) e.preventDefault();
});
el.addEventListener('click', (e) => {                 // keyboard activation of a tool button (pointers: pointerdown)
  const t = e.target.closest ? e.target.closest('.ge-tool') : null;
  if (t) pickTool(t);
  const d = e.target.closest ? e.target.closest('.ge-digit') : null;
  if (d) typeDigit(Number(d.dataset.digit));
});
el.addEventListener('keydown', (e) => {
  if (pointed && e.key !== 'Shift') { pointed = false; keyboardRing(); }
  const t = e.target.closest ? e.target.closest('.ge-tool') : null;
  const step = {ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1}[e.key];
  if (t && step) {                                    // the tool radio group: arrows choose the next tool
    e.preventDefault();
    const all = [...el.querySelectorAll('.ge-tool')];
    const next = all[(all.indexOf(t) + step + all.length) % all.length];
    pickTool(next);
    next.focus();
    return;
  }
  if (e.target !== gridEl()) return;
  if (!sel) { const [h, w] = dims(); if (!h || !w) return; select(0, 0); }
  const [h, w] = dims();
  const moves = {ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1]};
  if (moves[e.key]) {
    e.preventDefault();
    select(Math.min(h - 1, Math.max(0, sel[0] + moves[e.key][0])), Math.min(w - 1, Math.max(0, sel[1] + moves[e.key][1])));
    return;
  }
  if (props.mode !== 'sudoku') {
    if (e.key !== ' ' && e.key !== 'Enter') return;
    e.preventDefault();
    const work = grid().map((row) => row.slice());
    if (paint(work, sel[0], sel[1])) { commit(work); say(cellName(sel[0], sel[1], tool)); }
    else say(`${cellName(sel[0], sel[1], work[sel[0]][sel[1]])}, unchanged`);
    return;
  }
  let code = null;
  if (/^[1-9]$/.test(e.key)) code = Number(e.key);
  else if (e.key === '0' || e.key === 'Backspace' || e.key === 'Delete' || e.key === ' ') code = 0;
  if (code === null) return;
  e.preventDefault();
  typeDigit(code);
});
function typeDigit(code) {            // a Sudoku digit (0 clears) into the selected cell: from keys or the pad
  if (!sel) return;
  const work = grid().map((row) => row.slice());
  if (work[sel[0]][sel[1]] === code) { say(`${cellName(sel[0], sel[1], code)}, unchanged`); return; }
  work[sel[0]][sel[1]] = code;
  paintDom(sel[0], sel[1], code);
  const clash = markClashes(work).has(`${sel[0]},${sel[1]}`);
  say(`${code ? code : 'cleared'}${clash ? ', clashes with another ' + code + ' in its row, column or box' : ''}`);
  commit(work);
}
watch(['value', 'mode', 'legend', 'cell_px'], render);
const fit = () => `${el.clientWidth} ${zoom()}`;
let fitted = fit();
new ResizeObserver(() => {                       // redraw when the column width or the zoom changes, never mid-drag
  if (fit() !== fitted && !drag) { fitted = fit(); render(); }
}).observe(el);
render();
