// 实名认证 tab (RN-2..6): the confirmation dialog with the attempts left and
// the name, then POST /api/v1/me/realname; success, the failure guidance
// (CTID guide, 申请人工审核) or the server's message.
(function () {
  'use strict';
  var form = document.getElementById('realname-form');
  if (!form) return;
  var $ = function (id) { return document.getElementById(id); };
  var remaining = parseInt(form.getAttribute('data-remaining'), 10);
  if (isNaN(remaining)) remaining = 3;
  var busy = false;
  var used = parseInt(form.getAttribute('data-used'), 10) || 0;
  var failedToday = !$('verify-failed').hidden;

  // The line under the status: attempts used and left today, their result,
  // and when they come back (RN-3: three per Beijing day).
  function attemptsLine() {
    var el = $('realname-attempts');
    if (!el) return;
    var result = failedToday ? (used === 1 ? '，未通过' : '，均未通过') : '';
    if (remaining <= 0) el.textContent = '今日三次实名认证机会已用完' + result + '，请于明日0点（北京时间）后再试。';
    else if (used > 0) el.textContent = '今日已进行' + used + '次实名认证' + result + '，还可进行' + remaining + '次。次数于每日0点（北京时间）恢复。';
    else el.textContent = '每日您可进行三次实名认证，今日还可进行' + remaining + '次。';
  }

  function say(text, kind) {
    $('form-msg').textContent = text || '';
    $('form-msg').className = 'msg form-msg' + (text ? ' ' + (kind || 'bad') : '');
  }
  function nameMsg(text) {
    var el = form.querySelector('.msg[data-for="name"]');
    el.textContent = text || '';
    el.className = 'msg' + (text ? ' bad' : '');
    $('name').classList.toggle('bad', !!text);
  }
  function setRemaining(n) {
    if (typeof n === 'number' && !isNaN(n)) {
      remaining = n;
      used = Math.max(used, 3 - n);
    }
    $('confirm-remaining').textContent = String(remaining);
  }
  function hideResults() {
    $('verify-ok').hidden = true;
    $('verify-failed').hidden = true;
  }

  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    if (busy || $('verify').disabled) return;
    say('');
    nameMsg('');
    var name = $('name').value.trim();
    if (!name) { nameMsg('请填写与身份证件一致的姓名。'); $('name').focus(); return; }
    if (remaining <= 0) {
      say('每日您最多可进行三次实名认证，今日次数已用完，请于明日0点（北京时间）后再试。');
      return;
    }
    // Show the name as it will be checked (look-alike dots made ·, spaces folded), asked of
    // the server's own rules; the typed name if the server cannot be asked.
    checked(name).then(function (r) {
      if (r && r.ok === false) { nameMsg(r.message); $('name').focus(); return; }
      $('confirm-name').textContent = (r && r.value) || name;
      setRemaining();
      $('confirm-dialog').showModal();
    });
  });

  function checked(name) {
    return fetch('/api/v1/accounts/checks', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      credentials: 'same-origin',
      body: JSON.stringify({ field: 'name', doc_type: form.getAttribute('data-doc-type'), name: name })
    }).then(function (r) { return r.ok ? r.json() : null; }).catch(function () { return null; });
  }

  $('confirm-back').addEventListener('click', function () {
    $('confirm-dialog').close();
    $('name').focus();
  });

  $('confirm-submit').addEventListener('click', function () {
    $('confirm-dialog').close();
    submit($('confirm-name').textContent || $('name').value.trim());
  });

  function submit(name) {
    busy = true;
    $('verify').disabled = true;
    hideResults();
    say('正在核验，请稍候…', 'note');
    fetch('/api/v1/me/realname', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Accept': 'application/json' },
      credentials: 'same-origin',
      body: JSON.stringify({ name: name })
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) { return { status: r.status, body: j || {} }; });
    }).then(function (res) {
      busy = false;
      $('verify').disabled = false;
      var e = (res.body && res.body.error) || {};
      if (typeof e.remaining_today === 'number') setRemaining(e.remaining_today);
      if (res.status === 200) {
        failedToday = false;
        setRemaining(res.body.remaining_today);
        // Verified: another attempt makes no sense, so the count is not offered.
        if ($('realname-attempts')) $('realname-attempts').hidden = true;
        $('apply-review').hidden = true;
        say('');
        $('realname-status').textContent = '提示：实名认证成功。';
        $('realname-status').setAttribute('data-status', 'verified');
        if (res.body.name) $('name').value = res.body.name;
        $('verify-ok').hidden = false;
        $('verify-ok').scrollIntoView({ block: 'nearest' });
        return;
      }
      if (res.status === 401) {
        say(e.message || '您尚未登录或登录已超时，请重新登录。');
        return;
      }
      if (res.status === 422 && e.code === 'realname_failed') {
        say('');
        failedToday = true;
        attemptsLine();
        // The guidance is the list below; the server's long message says the same.
        $('failed-message').textContent = '您填写的姓名“' + name + '”与证件信息核验不一致。';
        var status = $('realname-status');
        if (status.getAttribute('data-status') === 'none') status.textContent = '提示：实名认证不通过。';
        if (e.guide) { $('ctid-link').setAttribute('href', e.guide); $('failed-ctid').hidden = false; }
        else if (form.getAttribute('data-resident') !== '1') $('failed-ctid').hidden = true;
        if (form.getAttribute('data-can-review') === '1') $('apply-review').hidden = false;
        $('verify-failed').hidden = false;
        $('verify-failed').scrollIntoView({ block: 'nearest' });
        return;
      }
      if (res.status === 422 && e.field === 'name') {
        say('');
        nameMsg(e.message);
        $('name').focus();
        return;
      }
      if (res.status === 429) { setRemaining(0); attemptsLine(); }
      if (res.status === 409 && e.code === 'review_pending') {
        $('verify').disabled = true;
        $('name').readOnly = true;
      }
      // 429 daily_limit, 503 authority_unavailable, 409 review_pending: the server says what to do.
      say(e.message || '实名认证暂时无法完成，请稍后再试。');
    }).catch(function () {
      busy = false;
      $('verify').disabled = false;
      say('网络异常，请稍后重试。');
    });
  }
})();
