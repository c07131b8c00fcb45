/* jszg slider captcha (向右拖动滑块填充拼图). Plain JS, no dependencies, CSP-friendly.
 *
 *   var captcha = JszgCaptcha.mount(element, { purpose: 'sms', onToken: function (token) { … } });
 *   captcha.reset();   // tokens are single use: ask for a new puzzle after spending one
 *   captcha.rest(msg); // or wait, saying `msg`, until the applicant wants another one (a click,
 *                      // Enter): every puzzle handed out raises the address's proof of work
 *   captcha.token();   // the current token, or null
 *
 * Elements with a data-jszg-captcha="purpose" attribute are mounted automatically.
 * Coordinates sent to the server are background-picture pixels, whatever size the picture is shown at.
 * The challenge's proof of work is solved in a Web Worker (/static/pow.js) while the applicant
 * looks at the picture; the answer waits for it if the drag is quicker.
 *
 * Two toggle buttons under the slider (适老化, A11Y-2/3): 放大 shows the picture at twice its size
 * (in a pane that scrolls with the piece where the screen is narrower), and 无障碍验证 replaces the
 * picture with a harder proof of work alone, for applicants who cannot see it; its progress is
 * announced through the same live region as the slider's.
 */
(function () {
  'use strict';

  var TEXT = {
    hint: '向右拖动滑块填充拼图',
    loading: '加载中…',
    checking: '验证中…',
    ok: '验证通过',
    fail: '验证失败，请重试',
    loadError: '加载失败，请点击右上角按钮换一张',
    expired: '拼图已过期，请点击此处或按回车键刷新',
    network: '网络异常，请稍后重试',
    refresh: '换一张',
    slider: '拼图滑块：用左右方向键移动拼图（按住 Shift 每次移动更多），回车键确认',
    zoom: '放大',
    accessible: '无障碍验证',
    accessibleHelp: '不看图片、不拖动滑块，由浏览器自动完成一次计算来验证，通常需要几秒钟',
    working: '正在进行无障碍验证，无需看图或拖动，请稍候…',
    stillWorking: '仍在验证，请稍候…',
    accessibleOk: '无障碍验证通过',
    accessibleFail: '无障碍验证未通过，正在重新验证…',
    accessibleExpired: '验证已过期，请按“重新验证”按钮再次验证',
    again: '重新验证'
  };
  var STILL_WORKING_MS = 10 * 1000;
  var KEY_STEP = 4, KEY_STEP_SHIFT = 10;
  var MAX_POINTS = 900;     // the server refuses more than 1000
  var MIN_GAP_MS = 8;       // at most ~120 samples a second while the piece barely moves…
  var MIN_STEP_PX = 8;      // …but a sample that moved it this far (picture px) is always kept:
                            // skipping one would double the next step (the server judges steps)
  var MAX_MERGED_PX = 40;   // thinning a long track never merges steps beyond this
  var FAIL_PAUSE_MS = 800;
  var TOKEN_LIFE_MS = 110 * 1000; // a token lives 2 minutes; give it up a little before

  function el(tag, cls, parent) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (parent) parent.appendChild(e);
    return e;
  }

  function clamp(v, lo, hi) { return Math.min(hi, Math.max(lo, v)); }

  function post(url, body) {
    return fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'Accept': 'application/json' },
      body: JSON.stringify(body)
    }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (data) {
        return { status: res.status, data: data || {} };
      });
    });
  }

  var mounted = 0;

  function mount(root, options) {
    if (root.jszgCaptcha) {
      root.jszgCaptcha.configure(options || {});
      return root.jszgCaptcha;
    }
    var opts = { purpose: root.getAttribute('data-jszg-captcha') || root.getAttribute('data-purpose') || 'login', onToken: null };

    root.classList.add('jszg-captcha');
    root.textContent = '';
    var viewport = el('div', 'jszg-captcha__viewport', root);
    var picture = el('div', 'jszg-captcha__picture', viewport);
    var bg = el('img', 'jszg-captcha__background', picture);
    var piece = el('img', 'jszg-captcha__piece', picture);
    bg.alt = '';
    piece.alt = '';
    bg.draggable = piece.draggable = false;
    var refresh = el('button', 'jszg-captcha__refresh', picture);
    refresh.type = 'button';
    refresh.title = TEXT.refresh;
    refresh.setAttribute('aria-label', TEXT.refresh);
    var bar = el('div', 'jszg-captcha__track', root);
    var fill = el('div', 'jszg-captcha__fill', bar);
    var text = el('span', 'jszg-captcha__text', bar);
    text.setAttribute('aria-live', 'polite');
    var handle = el('div', 'jszg-captcha__handle', bar);
    handle.tabIndex = 0;
    handle.setAttribute('role', 'slider');
    handle.setAttribute('aria-label', TEXT.slider);
    handle.setAttribute('aria-valuemin', '0');
    var tools = el('div', 'jszg-captcha__tools', root);
    var zoomButton = el('button', 'jszg-captcha__tool jszg-captcha__zoom', tools);
    zoomButton.type = 'button';
    zoomButton.textContent = TEXT.zoom;
    zoomButton.setAttribute('aria-pressed', 'false');
    var accessibleButton = el('button', 'jszg-captcha__tool jszg-captcha__accessible', tools);
    accessibleButton.type = 'button';
    accessibleButton.textContent = TEXT.accessible;
    accessibleButton.setAttribute('aria-pressed', 'false');
    var help = el('span', 'jszg-captcha__help', tools);
    help.id = 'jszg-captcha-help-' + (++mounted);
    help.textContent = TEXT.accessibleHelp;
    accessibleButton.setAttribute('aria-describedby', help.id);

    var challenge = null;  // the server's puzzle
    var state = '';
    var x = 0;             // left of the piece, in picture pixels
    var track = [];
    var minGap = MIN_GAP_MS;
    var drag = null;       // { id, x0, y0, t0, scale } while the pointer is down
    var keys = null;       // { t0 } once an arrow key moved the piece
    var token = null;
    var timer = null;
    var generation = 0;    // answers to stale requests are ignored
    var worker = null;     // solving the current proof of work
    var nonce = null;      // its solution, once found
    var waiting = null;    // an answer held back until the nonce is found
    var mode = 'slider';   // or 'accessible' (无障碍验证)
    var zoomed = false;

    function setState(s, message) {
      state = s;
      root.setAttribute('data-state', s);
      text.textContent = message;
      handle.setAttribute('aria-disabled', s === 'ready' || s === 'dragging' || s === 'expired' ? 'false' : 'true');
      // Once passed, or spent and expired, the accessible button offers the next round.
      accessibleButton.textContent = mode === 'accessible' && (s === 'expired' || s === 'error' || s === 'limited') ? TEXT.again : TEXT.accessible;
    }

    function later(ms, fn) {
      clearTimeout(timer);
      timer = setTimeout(fn, ms);
    }

    function maxX() { return challenge ? challenge.width - challenge.piece_width : 0; }

    function moveTo(v) {
      x = clamp(v, 0, maxX());
      var w = challenge ? challenge.width : 1;
      var pct = x / w * 100;
      piece.style.left = pct + '%';
      handle.style.left = pct + '%';
      fill.style.width = 'calc(' + pct + '% + ' + (handle.offsetWidth / 2) + 'px)';
      handle.setAttribute('aria-valuenow', String(Math.round(x)));
      // Zoomed wider than the screen, the pane keeps the piece in the middle of the view.
      if (zoomed && challenge) {
        var k = picture.offsetWidth / challenge.width;
        viewport.scrollLeft = Math.max(0, (x + challenge.piece_width / 2) * k - viewport.clientWidth / 2);
      }
    }

    function layout() {
      if (!challenge) return;
      var ratio = challenge.height / challenge.width;
      // 放大: twice the picture's own size, whatever the widget's width.
      picture.style.width = zoomed ? (challenge.width * 2) + 'px' : '';
      picture.style.paddingTop = zoomed ? (challenge.height * 2) + 'px' : (ratio * 100) + '%';
      moveTo(x);
    }

    function record(t, y, force) {
      var last = track[track.length - 1];
      t = Math.max(Math.round(t), last ? last.t : 0);
      var point = { t: t, x: Math.round(x), y: Math.round(y) };
      if (last && !force && t - last.t < minGap && Math.abs(point.x - last.x) < MIN_STEP_PX) return;
      if (last && force && last.t === point.t && last.x === point.x && last.y === point.y) return;
      if (track.length >= MAX_POINTS) {
        // Too long a drag: halve the sampling rather than drop its end.
        track = thin(track);
        minGap *= 2;
      }
      track.push(point);
    }

    // Every other point, keeping those whose loss would merge two steps into a long one.
    function thin(points) {
      var out = [points[0]];
      for (var i = 1; i < points.length; i++) {
        var next = points[i + 1];
        if (i % 2 === 1 && next && Math.abs(next.x - out[out.length - 1].x) <= MAX_MERGED_PX) continue;
        out.push(points[i]);
      }
      return out.length < MAX_POINTS ? out : points.filter(function (p, i) { return i % 2 === 0; });
    }

    function clearToken() {
      token = null;
      root.removeAttribute('data-captcha-token');
    }

    function load() {
      var mine = ++generation;
      clearTimeout(timer);
      clearToken();
      drag = keys = null;
      challenge = null;
      stopPow();
      root.classList.remove('jszg-captcha--shake');
      setState('loading', TEXT.loading);
      moveTo(0);
      root.classList.toggle('jszg-captcha--accessible', mode === 'accessible');
      if (mode === 'accessible') setState('working', TEXT.working);
      post('/api/v1/captchas', { purpose: opts.purpose, mode: mode }).then(function (res) {
        if (mine !== generation) return;
        if (res.status === 201 && mode === 'accessible') return work(res.data, mine);
        if (res.status === 201) return show(res.data, mine);
        if (res.status === 429) return limited(res.data);
        setState('error', TEXT.loadError);
      }, function () {
        if (mine === generation) setState('error', TEXT.network);
      });
    }

    function show(c, mine) {
      challenge = {
        id: c.id,
        width: c.width || 320,
        height: c.height || 160,
        piece_y: c.piece_y || 0,
        piece_width: c.piece_width,
        piece_height: c.piece_height
      };
      if (c.dev_solution != null) root.setAttribute('data-dev-solution', String(c.dev_solution));
      else root.removeAttribute('data-dev-solution');
      layout();
      piece.onload = function () {
        if (mine !== generation) return;
        // Older servers may leave out the piece size; the image knows it.
        challenge.piece_width = challenge.piece_width || piece.naturalWidth;
        challenge.piece_height = challenge.piece_height || piece.naturalHeight;
        piece.style.width = (challenge.piece_width / challenge.width * 100) + '%';
        piece.style.height = (challenge.piece_height / challenge.height * 100) + '%';
        piece.style.top = (challenge.piece_y / challenge.height * 100) + '%';
        handle.setAttribute('aria-valuemax', String(maxX()));
        moveTo(0);
        setState('ready', TEXT.hint);
      };
      startPow(c.pow, mine);
      bg.src = c.background;
      piece.src = c.piece;
      // An unanswered puzzle expires. Fetch the next one when the applicant comes back to it, not
      // on a timer: every puzzle handed out counts towards the address's proof-of-work price, and
      // a tab left open in a school's computer room must not raise it for the whole room.
      if (c.expires_in > 0) later(c.expires_in * 1000, expire);
    }

    // 无障碍验证: no picture; the proof of work is the answer, sent as soon as it is found.
    function work(c, mine) {
      challenge = { id: c.id, width: 1, height: 1, piece_width: 0 };
      root.removeAttribute('data-dev-solution');
      setState('working', TEXT.working);
      var still = setInterval(function () {
        if (mine !== generation || state !== 'working') { clearInterval(still); return; }
        // Say it again now and then, so a screen-reader user knows nothing is stuck.
        text.textContent = text.textContent === TEXT.stillWorking ? TEXT.working : TEXT.stillWorking;
      }, STILL_WORKING_MS);
      startPow(c.pow, mine);
      if (c.expires_in > 0) later(c.expires_in * 1000, expire);
      submit('accessible');
    }

    function expire(message) {
      clearTimeout(timer);
      challenge = null;
      stopPow();
      clearToken();
      moveTo(0);
      setState('expired', typeof message === 'string' ? message : mode === 'accessible' ? TEXT.accessibleExpired : TEXT.expired);
    }

    function stopPow() {
      if (worker) worker.terminate();
      worker = null;
      nonce = null;
      waiting = null;
      root.removeAttribute('data-pow-ms');
    }

    function powSolved(found, mine, t0) {
      if (mine !== generation || found == null) return;
      nonce = String(found);
      root.setAttribute('data-pow-ms', String(Math.round(Date.now() - t0)));
      if (waiting) { var go = waiting; waiting = null; go(); }
    }

    function startPow(pow, mine) {
      var t0 = Date.now();
      if (!pow || !pow.challenge) { nonce = ''; return; }
      try {
        worker = new Worker('/static/pow.js');
        worker.onmessage = function (e) { powSolved(e.data && e.data.nonce, mine, t0); };
        worker.onerror = function () { worker = null; powOnPage(pow, mine, t0); };
        worker.postMessage({ challenge: pow.challenge, difficulty: pow.difficulty });
      } catch (_) {
        powOnPage(pow, mine, t0);
      }
    }

    // Without workers: the same search with SubtleCrypto, in slices that keep the page responsive.
    function powOnPage(pow, mine, t0) {
      if (!window.crypto || !crypto.subtle || !window.TextEncoder) return;
      var enc = new TextEncoder(), n = 0;
      function zeroBits(buf) {
        var b = new Uint8Array(buf), bits = 0;
        for (var i = 0; i < b.length; i++) {
          if (b[i]) return bits + Math.clz32(b[i]) - 24;
          bits += 8;
        }
        return bits;
      }
      function slice() {
        if (mine !== generation) return;
        var batch = [];
        for (var i = 0; i < 256; i++, n++) batch.push(crypto.subtle.digest('SHA-256', enc.encode(pow.challenge + n)));
        var first = n - 256;
        Promise.all(batch).then(function (hashes) {
          for (var j = 0; j < hashes.length; j++) {
            if (zeroBits(hashes[j]) >= pow.difficulty) return powSolved(first + j, mine, t0);
          }
          setTimeout(slice, 0);
        });
      }
      slice();
    }

    function limited(data) {
      var err = data.error || {};
      var wait = Math.max(1, Number(err.retry_after) || 10);
      setState('limited', err.message || TEXT.network);
      later(wait * 1000, load);
    }

    function submit(input) {
      if (!challenge) return;
      var mine = generation;
      if (input !== 'accessible') setState('checking', TEXT.checking);
      if (nonce === null) {
        waiting = function () { if (mine === generation) submit(input); };
        return;
      }
      var body = input === 'accessible' ? {} : { x: Math.round(x), track: track, input: input };
      if (nonce) body.pow_nonce = nonce;
      post('/api/v1/captchas/' + encodeURIComponent(challenge.id) + '/answer', body).then(function (res) {
        if (mine !== generation) return;
        if (res.status === 200 && res.data.captcha_token) return solved(res.data.captcha_token);
        if (res.status === 429) return limited(res.data);
        failed(res.status);
      }, function () {
        if (mine === generation) failed(0);
      });
    }

    function solved(t) {
      clearTimeout(timer);
      token = t;
      setState('success', mode === 'accessible' ? TEXT.accessibleOk : TEXT.ok);
      root.setAttribute('data-captcha-token', t);
      if (typeof opts.onToken === 'function') opts.onToken(t);
      root.dispatchEvent(new CustomEvent('captcha:solved', { bubbles: true, detail: { token: t } }));
      // An unused token runs out; say so rather than show a green tick that no longer works.
      later(TOKEN_LIFE_MS, function () {
        root.dispatchEvent(new CustomEvent('captcha:expired', { bubbles: true }));
        expire();
      });
    }

    function failed(status) {
      setState('failure', status ? (mode === 'accessible' ? TEXT.accessibleFail : TEXT.fail) : TEXT.network);
      // The handle slides home, so it never covers the words 验证失败.
      moveTo(0);
      root.classList.remove('jszg-captcha--shake');
      void root.offsetWidth; // restart the animation
      root.classList.add('jszg-captcha--shake');
      root.dispatchEvent(new CustomEvent('captcha:failed', { bubbles: true, detail: { status: status } }));
      later(FAIL_PAUSE_MS, load);
    }

    // Pointer: mouse, pen and touch alike.
    handle.addEventListener('pointerdown', function (e) {
      if (state === 'expired') { e.preventDefault(); load(); return; }
      if (state !== 'ready' || (e.pointerType === 'mouse' && e.button !== 0)) return;
      e.preventDefault();
      handle.focus({ preventScroll: true });
      keys = null;
      moveTo(0);
      // The handle follows the pointer along the bar, however large the picture is shown.
      var scale = bar.getBoundingClientRect().width / challenge.width || 1;
      drag = { id: e.pointerId, x0: e.clientX, y0: e.clientY, t0: e.timeStamp, scale: scale };
      try { handle.setPointerCapture(e.pointerId); } catch (_) { /* capture is a nicety */ }
      track = [{ t: 0, x: 0, y: 0 }];
      minGap = MIN_GAP_MS;
      setState('dragging', TEXT.hint);
    });

    function follow(e) {
      moveTo((e.clientX - drag.x0) / drag.scale);
      var y = clamp((e.clientY - drag.y0) / drag.scale, -challenge.height, challenge.height);
      return { t: e.timeStamp - drag.t0, y: y };
    }

    handle.addEventListener('pointermove', function (e) {
      if (!drag || e.pointerId !== drag.id) return;
      e.preventDefault();
      // Browsers merge moves into one event per frame; the merged samples keep the track smooth.
      var all = e.getCoalescedEvents ? e.getCoalescedEvents() : [];
      if (!all.length) all = [e];
      for (var i = 0; i < all.length; i++) {
        var p = follow(all[i]);
        record(p.t, p.y, false);
      }
    });

    handle.addEventListener('pointerup', function (e) {
      if (!drag || e.pointerId !== drag.id) return;
      var p = follow(e);
      record(p.t, p.y, true);
      drag = null;
      if (x < 1) { setState('ready', TEXT.hint); moveTo(0); return; } // a click, not a drag
      submit('pointer');
    });

    function cancel(e) {
      if (!drag || e.pointerId !== drag.id) return;
      drag = null;
      moveTo(0);
      setState('ready', TEXT.hint);
    }
    handle.addEventListener('pointercancel', cancel);
    handle.addEventListener('lostpointercapture', cancel);

    // Keyboard: arrows move the piece, Enter submits.
    handle.addEventListener('keydown', function (e) {
      if (state === 'expired' && (e.key === 'Enter' || e.key === ' ')) { e.preventDefault(); load(); return; }
      if (state !== 'ready') return;
      var dir = e.key === 'ArrowRight' || e.key === 'Right' ? 1 : e.key === 'ArrowLeft' || e.key === 'Left' ? -1 : 0;
      if (dir) {
        e.preventDefault();
        var before = x;
        moveTo(x + dir * (e.shiftKey ? KEY_STEP_SHIFT : KEY_STEP));
        if (x === before) return;
        if (!keys) {
          keys = { t0: e.timeStamp };
          track = [{ t: 0, x: 0, y: 0 }];
        }
        if (track.length < MAX_POINTS) track.push({ t: Math.round(e.timeStamp - keys.t0), x: Math.round(x), y: 0 });
      } else if (e.key === 'Enter' && keys) {
        e.preventDefault();
        keys = null;
        submit('keyboard');
      }
    });

    refresh.addEventListener('click', load);
    zoomButton.addEventListener('click', function () {
      zoomed = !zoomed;
      zoomButton.setAttribute('aria-pressed', String(zoomed));
      root.classList.toggle('jszg-captcha--zoom', zoomed);
      layout();
    });
    accessibleButton.addEventListener('click', function () {
      // Pressed again once passed or spent: a fresh round, not a way back to the picture.
      if (mode === 'accessible' && (state === 'expired' || state === 'error' || state === 'limited')) { load(); return; }
      mode = mode === 'accessible' ? 'slider' : 'accessible';
      accessibleButton.setAttribute('aria-pressed', String(mode === 'accessible'));
      zoomButton.hidden = mode === 'accessible';
      load();
    });
    bar.addEventListener('click', function () { if (state === 'expired') load(); });
    // Stray image drags would steal the pointer from the handle.
    picture.addEventListener('dragstart', function (e) { e.preventDefault(); });

    var api = {
      element: root,
      reset: load,
      rest: function (message) { generation++; expire(message); },
      token: function () { return token; },
      configure: function (o) {
        if (o.purpose) opts.purpose = o.purpose;
        if (o.onToken) opts.onToken = o.onToken;
      }
    };
    api.configure(options || {});
    root.jszgCaptcha = api;
    load();
    return api;
  }

  window.JszgCaptcha = { mount: mount };

  function autoMount() {
    var found = document.querySelectorAll('[data-jszg-captcha]');
    for (var i = 0; i < found.length; i++) if (!found[i].jszgCaptcha) mount(found[i], {});
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', autoMount);
  else autoMount();
})();
