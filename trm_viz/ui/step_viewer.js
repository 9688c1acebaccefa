// The step viewer's browser side (trm_viz/ui/step_viewer.py: StepViewer): run by gr.HTML's js_on_load with
// element, props, trigger and watch in scope. HEAT_COLOURS, HEAT_INKS and SHADE_MAX are filled in by the Python side.
const el = element;
el.tabIndex = 0;
// Screen readers: the viewer is a named group; the grid is a table whose cells say their position, value and marks
// (given, changed, wrong / right, confidence); each step the user settles on is summed up in a polite live region.
el.setAttribute('role', 'group');
el.setAttribute('aria-label', 'Refinement viewer: Left and Right arrow keys change the step');
const HEAT = HEAT_COLOURS, HEAT_INK = HEAT_INKS;    // a level's colour, and the text colour that reads on it
let step = 1, timer = null, ring = null;
let moved = false;          // the user has moved off the step the viewer opened at
let picked = null;          // [r, c] of the cell last tapped: its values at every step show beside the grid

const data = () => (props.value && Array.isArray(props.value.steps) && props.value.steps.length) ? props.value : null;
const esc = (s) => String(s).replace(/[&<>"]/g, (ch) => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;'})[ch]);
const flag = (s, i) => s != null && s.charCodeAt(i) === 49;
// Unsure cells: text cells wash towards white (the digit fades too), fill cells get white stripes so that their
// colour, which is the answer, still reads true (a washed black would look like ARC grey).
const wash = (a) => {
  if (a <= 0.01) return '';
  if (data().style === 'text') return `linear-gradient(rgba(255,255,255,${a.toFixed(2)}), rgba(255,255,255,${a.toFixed(2)})), `;
  const b = Math.min(1, 1.5 * a).toFixed(2);
  return `repeating-linear-gradient(45deg, rgba(255,255,255,${b}) 0 2px, transparent 2px 6px), `;
};
const legendOf = (d) => new Map((d.legend || []).map(([code, label, color]) => [Number(code), [String(label), String(color)]]));
const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;
const level = (s, i) => s == null ? 0 : s.charCodeAt(i) - 48;

// A legend label in words: "start S" -> "start", "wall #" -> "wall"; digits and ARC's "3 green" stay as they are.
const spoken = (label) => label.replace(/ \S$/, '');
// An ARC answer of another shape than the solution, or none at all: its cells cannot show that, so the words do.
function sizeNote(d, s) {
  if (!s.h || !s.w) return "no answer grid: the top-left cell of the model's output is not a colour";
  const t = d.solution;
  return t && (t.h !== s.h || t.w !== s.w) ? `wrong size: ${s.h}x${s.w}, the solution is ${t.h}x${t.w}` : '';
}
// How often each cell of a grid of h x w changed over the run's revisions (steps 2..n; step 1 fills the input), for
// the "changes over the run" colouring: where the model keeps flipping (a loop between two answers, or wandering).
// An ARC answer that changes shape: a cell outside a step's grid has no value there, which differs from any value.
function flipCounts(d, h, w) {
  const at = (s, r, c) => (r < s.h && c < s.w ? s.cells.charCodeAt(r * s.w + c) : -1);
  const out = new Array(h * w).fill(0);
  for (let k = 1; k < d.n; k++) {
    for (let r = 0; r < h; r++) for (let c = 0; c < w; c++) {
      if (at(d.steps[k], r, c) !== at(d.steps[k - 1], r, c)) out[r * w + c] += 1;
    }
  }
  return out;
}
// One cell at every step (a tap on it): its value, red where wrong, green where right, the viewer's step ringed.
function cellHistory(d, r, c, legend) {
  let flips = 0, last = null;
  const boxes = d.steps.map((s, k) => {
    const inside = r < s.h && c < s.w, i = r * s.w + c;
    const code = inside ? s.cells.charCodeAt(i) - 48 : null;
    if (k && code !== last) flips += 1;
    last = code;
    const [label, color] = code === null ? ['none', '#ffffff'] : legend.get(code) || [String(code), '#ffffff'];
    const mark = !inside || s.right == null ? '' : flag(s.right, i) ? ' ok' : ' bad';
    const text = d.style === 'text' && code ? esc(label) : '';
    return `<span class="sv-hist${mark}${k + 1 === step ? ' now' : ''}" title="step ${k + 1}: ${esc(label)}"`
      + ` style="background: ${esc(d.style === 'text' ? '#ffffff' : color)}">${text}</span>`;
  });
  return `Row ${r + 1}, column ${c + 1} at steps 1-${d.n} (${plural(flips, 'change')} after step 1):`
    + `<div class="sv-hists" role="img" aria-label="row ${r + 1}, column ${c + 1} changed ${plural(flips, 'time')}`
    + ` after step 1">${boxes.join('')}</div>`;
}
function showPicked(d, title) {     // the tapped cell: its tip, and its history with the viewer's step ringed
  const info = el.querySelector('.sv-cellinfo');
  if (!picked || !info) return;
  const cell = el.querySelector(`.sv-cell[data-r="${picked[0]}"][data-c="${picked[1]}"]`);
  info.innerHTML = `${esc(title || (cell ? cell.title : ''))}<br>${cellHistory(d, picked[0], picked[1], legendOf(d))}`;
}
function announce() {
  const d = data(), live = el.querySelector('.sv-live');
  if (!d || !live) return;
  const s = d.steps[step - 1];
  let text = `Step ${step} of ${d.n}: q_halt ${s.q.toFixed(2)}${d.halt_step === step ? ', halts here' : ''}; `
    + `${plural(s.nchanged, 'cell')} changed`;
  if (d.known) text += `; ${plural(s.corrections, 'correction')}, ${plural(s.regressions, 'regression')}; `
    + `${s.todo[0]} of ${s.todo[1]} cells to solve right${s.exact ? ', whole answer right' : ''}`;
  const note = sizeNote(d, s);
  live.textContent = text + (note ? `; ${note}` : '') + '.';
}
// One event object, updated in place: Gradio 6.31's trigger_mode="always_last" does not send the latest of the
// events fired while the server is busy but re-sends the running one's own data (Blocks' dispatch(e) after the
// run). That data is this object, so the re-sent event says the step the viewer is on now, not the one of the burst.
const settled = {step: 0};
function settle() { announce(); settled.step = step; trigger('step_change', settled); }
function playButton(on) {
  const b = el.querySelector('.sv-play');
  if (b) { b.textContent = on ? '\u23F8' : '\u25B6'; b.setAttribute('aria-label', on ? 'Pause' : 'Play the steps'); }
}
function stop() { if (timer) { clearInterval(timer); timer = null; } playButton(false); }
function play() {
  const d = data(); if (!d) return;
  if (step >= d.n || !moved) step = 1, draw();     // from the opening (halting) step, Play shows the whole run
  moved = true;
  const fps = Math.max(0.2, Math.min(30, Number(props.fps) || 2));
  playButton(true);
  timer = setInterval(() => {
    if (step >= d.n) { stop(); settle(); return; }
    step += 1; draw();
  }, 1000 / fps);
}
// The key's last part depends on the puzzle: Sudoku bolds its givens, a maze's path is blue.
const keyExtra = (d) => (d.task === 'maze' ? ' &middot; blue: the path it draws from S to G'
  : d.style === 'text' ? ' &middot; bold: given' : '')
  + (d.steps[0].breaks != null ? ' &middot; wavy underline: repeats in its row, column or box' : '');
function shell() {
  const d = data();
  stop();
  if (!d) { el.innerHTML = '<div class="sv-empty">Run a puzzle to see its refinement step by step.</div>'; return; }
  step = Math.min(d.n, Math.max(1, d.start || d.n));
  moved = false;
  picked = null;
  el.innerHTML = `<div class="sv-bar"><button type="button" class="sv-play" title="play / pause" aria-label="Play the steps">\u25B6</button>
    <input class="sv-slider" type="range" min="1" max="${d.n}" step="1" value="${step}" aria-label="supervision step">
    <span class="sv-step"></span>
    <select class="sv-layer" aria-label="cell colouring"><option value="answer">answer</option>
      <option value="zH">z_H change</option><option value="zL">z_L change</option>
      <option value="flips">changes over the run</option>${d.steps[0].pr != null ?
      '<option value="pr">chance of the right value</option>' : ''}${d.solution ?
      '<option value="solution">solution</option>' : ''}</select></div>
    <div class="sv-live" aria-live="polite"></div>
    <div class="sv-main"><div class="sv-grid" role="table"></div><div class="sv-side"><div class="sv-stats"></div>
    <div class="sv-cellinfo">Tap or point at a cell for its value and confidence; a tap shows it at every step.</div>
    <div class="sv-svg">${d.svg || ''}</div>
    <div class="sv-key">outline: changed at this step &middot; red corner: wrong &middot; green corner: right and
      changed &middot; faint or striped: unsure${keyExtra(d)}</div></div></div>`;
  draw();
  keyboardRing();
}
function keyboardRing() {      // the grid outlined while the viewer has keyboard focus (Left/Right then step)
  const g = el.querySelector('.sv-grid');
  if (g) g.classList.toggle('kbd', document.activeElement === el && el.matches(':focus-visible'));
}
el.addEventListener('focus', keyboardRing);
el.addEventListener('blur', keyboardRing);
const zoom = () => { const g = el.querySelector('.sv-grid'); return (g && parseFloat(getComputedStyle(g).zoom)) || 1; };
function draw() {
  const d = data(); if (!d) return;
  if (!el.querySelector('.sv-grid')) { shell(); return; }
  step = Math.min(d.n, Math.max(1, step));
  const s = d.steps[step - 1];
  const legend = legendOf(d);
  let layer = (el.querySelector('.sv-layer') || {}).value || 'answer';
  // The solution layer draws the known answer (its own size: an ARC output may differ from the step's), red
  // corners where this step's answer differs from it.
  const sol = layer === 'solution' && d.solution ? d.solution : null;
  if (layer === 'solution' && !sol) layer = 'answer';
  const g = sol || s, same = !sol || (s.h === sol.h && s.w === sol.w);
  const room = Math.min(420, ((el.clientWidth || 420) - 6) / zoom());    // fit the column, even zoomed
  const px = Math.max(5, Math.min(32, Math.floor(room / Math.max(g.w, 1)), Math.floor(420 / Math.max(g.h, 1))));
  const box = d.style === 'text' && g.h === 9 && g.w === 9;
  const flips = layer === 'flips' && !sol ? flipCounts(d, g.h, g.w) : null;
  const most = flips ? Math.max(1, ...flips) : 1;     // the colour scale: the run's most-changed cell is yellow
  let html = '';
  for (let r = 0; r < g.h; r++) for (let c = 0; c < g.w; c++) {
    if (c === 0) html += (r ? '</div>' : '') + `<div role="row" aria-label="row ${r + 1}" style="display: contents">`;
    const i = r * g.w + c, code = g.cells.charCodeAt(i) - 48;
    const [label, color] = legend.get(code) || [String(code), '#ffffff'];
    let cls = 'sv-cell';
    const marks = [];
    if (d.style === 'text' && same && flag(s.givens, i)) cls += ' giv', marks.push('given');
    if (box && r % 3 === 0 && r) cls += ' bt';
    if (box && c % 3 === 0 && c) cls += ' bl';
    if (sol) {          // cell by cell where the answer has the cell (an answer of another size: its overlap counts)
      const has = r < s.h && c < s.w;
      if (!has || s.cells.charCodeAt(r * s.w + c) !== sol.cells.charCodeAt(i)) cls += ' bad', marks.push('the answer differs');
    }
    else {
      if (flag(s.changed, i)) cls += ' chg', marks.push('changed');
      if (s.right != null) {
        if (!flag(s.right, i)) cls += ' bad', marks.push('wrong');
        else if (flag(s.changed, i)) cls += ' good', marks.push('right');
      }
      if (flag(s.breaks, i)) cls += ' clash', marks.push('breaks a rule: the digit repeats in its row, column or box');
    }
    if (ring && ring[0] === step && ring[1] === r && ring[2] === c) cls += ' sel';
    // pr: the probability the model gives the right value (dark: sure of a wrong one; yellow: knows it)
    const heat = layer === 'answer' || sol ? null : flips ? Math.round(9 * flips[i] / most) : level(s[layer], i);
    const base = heat === null ? color : HEAT[heat];
    if (heat !== null) cls += ' heat';          // its text (a digit, S or G) takes the level's ink, set below
    const a = layer === 'answer' ? SHADE_MAX * (1 - level(s.conf, i) / 9) : 0;
    // Text cells fade their digit (the background is the digit's legend tint); fill cells fade their colour.
    // A maze's start and goal carry their letter, as in the editor: red and green alone are the pair colour-blind
    // eyes confuse most.
    // The puzzle's start and goal keep their letter where an answer paints over them (a class must not lose
    // track of the goal): light, on any colour the answer put there.
    const own = d.style !== 'text' && /^\w+ [A-Z]$/.test(label) ? label.slice(-1) : '';
    const anchor = !own && d.anchors && g.w === s.w && g.h === s.h ? d.anchors.charAt(i) : '.';
    const letter = own || (anchor !== '.' ? anchor : '');
    if (!own && letter) marks.push(`the puzzle's ${letter === 'S' ? 'start' : 'goal'}, not in this answer`);
    const text = d.style === 'text' && code !== 0 ? `<span style="opacity: ${(1 - a).toFixed(2)}">${esc(label)}</span>`
      : (letter ? `<span class="sv-letter${own ? '' : ' lost'}">${letter}</span>` : '');
    const tip = sol ? `(${r + 1}, ${c + 1}) ${label} in the solution`
      : `(${r + 1}, ${c + 1}) ${label}, confidence ~${(level(s.conf, i) / 9).toFixed(1)}`
        + (s.pr != null ? `, chance of the right value ~${(level(s.pr, i) / 9).toFixed(1)}` : '');
    const said = `row ${r + 1}, column ${c + 1}: ${spoken(label)}${marks.length ? ', ' + marks.join(', ') : ''}`
      + (sol ? '' : `, confidence ${(level(s.conf, i) / 9).toFixed(1)}`)
      + (layer === 'zH' || layer === 'zL' ? `, ${layer === 'zH' ? 'z_H' : 'z_L'} moved ${level(s[layer], i)} of 9` : '')
      + (flips ? `, changed ${plural(flips[i], 'time')} over the run` : '')
      + (layer === 'pr' && !sol ? `, chance of the right value ~${(level(s.pr, i) / 9).toFixed(1)}` : '');
    html += `<div class="${cls}" role="cell" aria-label="${esc(said)}" data-r="${r}" data-c="${c}" title="${esc(tip)}" style="background: ${wash(a)}${esc(base)}${heat === null ? '' : '; color: ' + HEAT_INK[heat]}">${text}</div>`;
  }
  if (g.h && g.w) html += '</div>';
  const grid = el.querySelector('.sv-grid');
  grid.style.gridTemplateColumns = `repeat(${g.w}, ${px}px)`;
  grid.style.gridAutoRows = `${px}px`;
  grid.style.fontSize = `${Math.round(px * 0.6)}px`;
  grid.style.setProperty('--tri', `${Math.max(3, Math.floor(px / 3))}px`);
  grid.innerHTML = g.h && g.w ? html : '';
  grid.setAttribute('aria-label', sol ? `Known solution, ${g.h} by ${g.w}, against the answer at step ${step} of ${d.n}`
    : `${{answer: 'Answer', zH: 'z_H change', zL: 'z_L change', flips: 'Changes over the run',
      pr: 'Chance of the right value'}[layer]} at step ${step}`
      + ` of ${d.n}, ${g.h} by ${g.w}`);
  el.querySelector('.sv-slider').value = step;
  el.querySelector('.sv-step').textContent = `step ${step} / ${d.n}`;
  let corr = 0, regr = 0;          // the revisions after the first answer (step 1 mostly fills blanks)
  for (let k = 1; k < step; k++) { corr += d.steps[k].corrections; regr += d.steps[k].regressions; }
  const halt = d.halt_step == null ? 'never crosses 0.5' : (d.halt_step === step ? '<b>halts here</b>' : `halts at step ${d.halt_step}`);
  let stats = `q_halt <b>${s.q.toFixed(3)}</b> (${halt})<br>changed cells <b>${s.nchanged}</b>`;
  if (d.known) stats += ` &middot; corrections <b>${s.corrections}</b> &middot; regressions <b>${s.regressions}</b>`
    + (step > 2 ? `<br>steps 2-${step} so far: ${plural(corr, 'correction')}, ${plural(regr, 'regression')}` : '')
    + `<br>cells to solve right <b>${(100 * s.acc).toFixed(1)}%</b> (${s.todo[0]} of ${s.todo[1]})`
    + (s.exact ? ' &middot; <b>whole answer right</b>' : '');
  const breaks = s.breaks == null ? -1 : [...s.breaks].filter((ch) => ch === '1').length;
  if (breaks >= 0) stats += `<br>digits that repeat in a row, column or box <b>${breaks}</b>`;   // wrong yet consistent,
                                                                                                 // or incoherent
  const note = sizeNote(d, s);
  if (note) stats += `<br><b>${note.replace(/:.*/, '')}</b>${esc(note.replace(/^[^:]*/, ''))}`;
  el.querySelector('.sv-stats').innerHTML = stats;
  showPicked(d);
  const svg = el.querySelector('.sv-svg svg'), cur = svg && svg.querySelector('.hc-cursor');
  if (cur) {
    const x = Number(svg.dataset.x0) + (step - 1) * Number(svg.dataset.dx);
    cur.setAttribute('x1', x); cur.setAttribute('x2', x); cur.setAttribute('visibility', 'visible');
  }
}
function goto(k, r, c) {
  const d = data(); if (!d) return;
  stop();
  step = Math.min(d.n, Math.max(1, Math.round(Number(k)) || 1));
  ring = (r == null || c == null) ? null : [step, Number(r), Number(c)];
  moved = true;
  draw();
  settle();
}
el.trmGoto = goto;
el.addEventListener('click', (e) => {
  const cell = e.target.closest('.sv-cell');          // a touch screen shows no tooltip: say it here, with the
  if (cell && data()) {                                // cell's value at every step
    picked = [Number(cell.dataset.r), Number(cell.dataset.c)];
    showPicked(data(), cell.title);
  }
  if (e.target.closest('.sv-play')) { timer ? (stop(), settle()) : play(); return; }
  const svg = e.target.closest('.sv-svg svg');
  if (svg) {
    const box = svg.getBoundingClientRect(), vb = svg.viewBox.baseVal;
    const x = (e.clientX - box.left) * (vb.width / box.width);
    const dx = Number(svg.dataset.dx);
    if (dx > 0) goto(1 + Math.round((x - Number(svg.dataset.x0)) / dx));
  }
});
el.addEventListener('input', (e) => {
  if (e.target.classList.contains('sv-slider')) { stop(); step = Number(e.target.value); moved = true; draw(); }
  if (e.target.classList.contains('sv-layer')) draw();
});
el.addEventListener('change', (e) => { if (e.target.classList.contains('sv-slider')) settle(); });
el.addEventListener('keydown', (e) => {
  if (!data() || e.target.tagName === 'SELECT' || (e.key !== 'ArrowLeft' && e.key !== 'ArrowRight')) return;
  if (e.target.classList.contains('sv-slider')) return;   // the slider moves itself and fires input
  e.preventDefault();
  goto(step + (e.key === 'ArrowRight' ? 1 : -1));
});
watch('value', () => { ring = null; shell(); });
const fit = () => `${el.clientWidth} ${zoom()}`;    // the column's width, and "Large text"'s zoom of the grid
let fitted = fit();
new ResizeObserver(() => { if (fit() !== fitted) { fitted = fit(); draw(); } }).observe(el);
watch('selected', () => { const s = props.selected; if (s && s.step != null) goto(s.step, s.r, s.c); });
shell();
