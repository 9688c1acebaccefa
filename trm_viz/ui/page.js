() => {
  // The page's own script (trm_viz/ui/app_layout.py runs it once, on page load): help for screen readers and
  // keyboards, and the run's pictures loaded at once.
  // Screen readers hear the run's news without its chatter: a hidden polite live region repeats the status line when
  // a run starts, stops, ends or fails (not each "Step k of n done", several a second), and the check line when it
  // finds a problem (not "Ready", after every typed digit). The page's two columns are landmarks to jump between.
  const live = document.createElement('div');
  live.id = 'trm-live';
  live.setAttribute('aria-live', 'polite');
  live.style.cssText = 'position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%);white-space:nowrap';
  document.body.appendChild(live);
  const say = (text) => {            // one node per message: a second one must not replace the first unheard
    const p = document.createElement('p');
    p.textContent = text;
    live.appendChild(p);
    while (live.childElementCount > 3) live.firstElementChild.remove();
  };
  const relay = (id, quiet) => {
    const e = document.getElementById(id);
    if (!e) return;
    // the Markdown's own text: the block also holds Gradio's progress tracker ("queue: 1/1 | 0.0s")
    const read = () => ((e.querySelector('[data-testid="markdown"]') || e).innerText || '').trim();
    let last = read();                 // what the page opened with is not news
    new MutationObserver(() => {
      const text = read();
      if (text === last) return;
      last = text;
      if (text && !quiet.test(text)) say(text);
    }).observe(e, {childList: true, characterData: true, subtree: true});
  };
  relay('status', /^Step [0-9]+ of [0-9]+ done/);
  relay('check', /^Ready:/);
  for (const [id, name] of [['puzzle-column', 'Puzzle'], ['results-column', 'Results']]) {
    const e = document.getElementById(id);
    if (e) { e.setAttribute('role', 'region'); e.setAttribute('aria-label', name); }
  }
  // Plotly's SVG reads as scattered tick labels, and its toolbar was 8-10 Tab stops a plot, of which a keyboard can
  // use one (zoom and pan need a pointer). The plot becomes one image named by its title and values; Download stays.
  const fmt = (v, tiny) => Number.isInteger(v) ? String(v) : tiny ? v.toExponential(1)
    : Math.abs(v) < 10 ? v.toFixed(2) : v.toFixed(1);
  const describe = (gd) => {
    const title = ((gd.layout || {}).title || {}).text || 'Plot';
    // in the legend's order (an earlier run's curves are drawn first, under this run's, and listed after them)
    const traces = [...(gd._fullData || [])].sort((a, b) => (a.legendrank ?? 1000) - (b.legendrank ?? 1000));
    const lines = traces.map((t) => {
      const xs = Array.from(t.x || []), ys = Array.from(t.y || []);
      const pts = xs.map((x, i) => [x, ys[i]]).filter(([x, y]) => x != null && y != null && isFinite(y));
      if (!pts.length) return t.showlegend === false ? '' : t.name;     // a legend entry: "the viewer's step (3)"
      const n = pts.length, [x0, y0] = pts[0], [xn, yn] = pts[n - 1];
      const tiny = Math.max(...pts.map(([, y]) => Math.abs(y))) < 0.01;      // a learning rate, not "0.00"
      const num = (v) => fmt(v, tiny);
      if (n > 20) return `${t.name}: ${n} points, ${num(y0)} at ${x0} to ${num(yn)} at ${xn}`;
      if (n > 1 && pts.every(([x], i) => x === i + 1))     // per step: "(steps 1-16): 0.01, 0.02, ..."
        return `${t.name} (steps 1-${n}): ${pts.map(([, y]) => num(y)).join(', ')}`;
      return `${t.name}: ${pts.map(([x, y]) => `${x}: ${num(y)}`).join(', ')}`;
    }).filter(Boolean);
    return [title].concat(lines).join('. ');
  };
  const tidy = (box) => {
    box.querySelectorAll('.modebar-btn, .modebar a').forEach((b) => {
      if (b.getAttribute('data-title') !== 'Download plot as a PNG' && b.tabIndex !== -1) b.tabIndex = -1;
    });
    const gd = box.querySelector('.js-plotly-plot'), svgs = box.querySelectorAll('svg.main-svg');
    if (!gd || !svgs.length) return;
    const name = describe(gd);
    if (svgs[0].getAttribute('aria-label') !== name) {
      svgs[0].setAttribute('role', 'img');
      svgs[0].setAttribute('aria-label', name);
    }
    svgs.forEach((s, i) => {
      if (i && s.getAttribute('aria-hidden') !== 'true') s.setAttribute('aria-hidden', 'true');
    });
  };
  // "Large text" (a projector) grows the plots' text with the page's, through Plotly.relayout: Plotly lays out its
  // legend and margins for its font sizes, so a CSS font-size made the legend entries overlap. A figure the server
  // sends anew (each step the viewer shows) comes at its own sizes and is scaled again; layout.meta keeps the
  // figure's own sizes (null: Plotly's default) to go back to.
  const BIG = 1.3, SIZES = ['font.size', 'title.font.size', 'legend.font.size'];
  const container = document.querySelector('.gradio-container');
  const scaleText = (gd) => {
    const lay = gd.layout, P = window.Plotly;
    if (!lay || !P || !gd.offsetParent) return;                          // not drawn yet, or in a closed tab
    const big = container.classList.contains('trm-big'), own = lay.meta && lay.meta.trmSizes;
    if (big === !!own) return;
    const read = (obj, path) => path.split('.').reduce((o, k) => (o == null ? undefined : o[k]), obj);
    const update = {};
    if (big) {
      const sizes = Object.fromEntries(SIZES.map((p) => [p, read(lay, p) ?? null]));
      const full = gd._fullLayout || {};
      // the title grows as far as it fits beside the toolbar (a phone's plot cut "...per supervision s")
      const title = gd.querySelector('.gtitle'), wide = title ? title.getBBox().width : 0;
      const fits = wide > 0 ? Math.max(1, Math.min(BIG, ((full.width || gd.clientWidth) - 70) / wide)) : BIG;
      SIZES.forEach((p) => {
        const now = read(full, p) || 12;
        update[p] = Math.round(now * (p === 'title.font.size' ? fits : BIG));
      });
      update.meta = {trmSizes: sizes};
    } else {
      SIZES.forEach((p) => { update[p] = own[p]; });
      update.meta = null;
    }
    Promise.resolve(P.relayout(gd, update)).catch(() => {});
  };
  const scaleAll = () => document.querySelectorAll('.js-plotly-plot').forEach(scaleText);
  new MutationObserver(scaleAll).observe(container, {attributes: true, attributeFilter: ['class']});
  let queued = false;             // Plotly redraws in bursts, and a tab's plot appears when the tab opens: tidy
  new MutationObserver(() => {    // every plot once after each burst
    if (queued) return;
    queued = true;
    setTimeout(() => {
      queued = false;
      scaleAll();
      document.querySelectorAll('.js-plotly-plot').forEach((gd) => tidy(gd.parentElement));
      // Gradio's images load lazily, when scrolled near: a run's pictures are deleted an hour after they were
      // shown (trm_viz/ui/files.py), so they load now, while they exist.
      document.querySelectorAll('#results-column img[loading=lazy]').forEach((img) => { img.loading = 'eager'; });
    }, 150);
  }).observe(document.body, {childList: true, subtree: true});
}
