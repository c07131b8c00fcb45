// 注册 page: live checks as the applicant types (the server's own rules,
// through /api/v1/accounts/checks), the computed end date, the agreement
// and validity-warning dialogs, the slider and the SMS code button.
// The 申诉找回账号 page (#claim-form) is the same form plus three photos
// and a reason, sent as multipart to /api/v1/ownership-claims.
(function () {
  'use strict';
  var form = document.getElementById('register-form') || document.getElementById('claim-form');
  if (!form) return;
  var claim = form.id === 'claim-form';
  var SLOTS = ['front', 'back', 'handheld'];
  // What the register page hands to the claim page when the number is taken (never the passwords).
  var CARRY = ['doc_type', 'doc_number', 'name', 'start', 'email', 'phone', 'verification_code'];
  var $ = function (id) { return document.getElementById(id); };
  var entry = form.getAttribute('data-entry') || 'certification';
  var allowed = {
    resident_id: ['5y', '10y', '20y', 'long'],
    hk_mo_permit: ['5y', '10y'],
    tw_permit: ['5y'],
    hmt_residence: ['5y']
  };
  var captchaToken = null;
  var captcha = null;
  var cooldown = 0;

  function msg(field, text, kind) {
    var el = form.querySelector('.msg[data-for="' + field + '"]');
    if (el) { el.textContent = text || ''; el.className = 'msg' + (text ? ' ' + (kind || 'bad') : ''); }
    var input = $(field);
    if (input) {
      input.classList.toggle('bad', !!text && kind !== 'good' && kind !== 'note');
      input.classList.toggle('good', kind === 'good');
    }
  }

  function fieldOf(apiField) {
    if (!apiField) return null;
    if (apiField.indexOf('validity') === 0) return 'validity';
    if (apiField === 'doc_type') return 'doc_number';
    return apiField;
  }

  function period() {
    var checked = form.querySelector('input[name="period"]:checked');
    return checked ? checked.value : '';
  }

  // Only the periods the document type allows (DOC-3).
  function syncPeriods() {
    var ok = allowed[$('doc_type').value] || [];
    form.querySelectorAll('#periods .radio').forEach(function (label) {
      var p = label.getAttribute('data-period');
      var show = ok.indexOf(p) >= 0;
      label.hidden = !show;
      if (!show) label.querySelector('input').checked = false;
    });
    if (ok.length === 1) form.querySelector('input[name="period"][value="' + ok[0] + '"]').checked = true;
    computeEnd();
  }

  // End = start + N years, same month and day; 29 Feb falls back to 28 Feb.
  function computeEnd() {
    var p = period(), start = $('start').value, end = $('end');
    if (p === 'long') { end.value = '长期'; return; }
    var m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(start);
    var years = { '5y': 5, '10y': 10, '20y': 20 }[p];
    if (!m || !years) { end.value = ''; return; }
    var y = +m[1] + years, mo = +m[2], d = +m[3];
    var leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
    if (mo === 2 && d === 29 && !leap) d = 28;
    end.value = y + '-' + String(mo).padStart(2, '0') + '-' + String(d).padStart(2, '0');
    checkServer('validity');
  }

  // 验证码来源 (CODE-3): 短信验证, or 微信扫码验证 when the service account is configured.
  function channel() {
    var picked = document.querySelector('input[name="verification_channel"]:checked');
    return picked ? picked.value : 'sms';
  }
  document.querySelectorAll('input[name="verification_channel"]').forEach(function (r) {
    r.addEventListener('change', function () {
      var wechat = channel() === 'wechat';
      $('send-code').hidden = wechat;
      $('sms-help').hidden = wechat;
      if ($('wechat-code')) $('wechat-code').hidden = !wechat;
    });
  });

  function body(extra) {
    var o = {
      doc_type: $('doc_type').value,
      doc_number: $('doc_number').value,
      name: $('name').value,
      validity: { period: period(), start: $('start').value },
      password: $('password').value,
      password_confirm: $('password_confirm').value,
      email: $('email').value,
      phone: $('phone').value,
      verification_code: $('verification_code').value,
      verification_channel: channel(),
      agree_terms: $('agree_terms').checked
    };
    for (var k in extra) o[k] = extra[k];
    return o;
  }

  function post(url, data) {
    return fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      credentials: 'same-origin',
      body: JSON.stringify(data)
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) { return { status: r.status, body: j }; });
    });
  }

  // Ask the server: the rules live in one place (the domain crate).
  var timers = {};
  var valid = {};
  function checkServer(field) {
    clearTimeout(timers[field]);
    timers[field] = setTimeout(function () {
      var data = body({ field: field });
      delete data.password; delete data.password_confirm; delete data.verification_code;
      post('/api/v1/accounts/checks', data).then(function (res) {
        var r = res.body || {};
        if (res.status !== 200) return;
        valid[field] = !!r.ok;
        if (r.ok) {
          msg(field, r.notice || (field === 'validity' ? '' : '✓'), r.notice ? 'note' : 'good');
          // The notice says the extra digits were removed: show the number as the server will
          // store it (its `value`), so the field says the same as the hint.
          if (r.notice && field === 'doc_number' && r.value) { $('doc_number').value = r.value; saveDraft(); }
        } else {
          msg(field, r.message);
        }
        if (field === 'phone') syncSendButton();
      }).catch(function () {});
    }, 300);
  }

  // Password rules (CRED-3) are simple enough to show without a round trip;
  // the server checks them again, plus the common-password list.
  var SPECIAL = '#%*-_!@$&';
  function checkPassword() {
    var p = $('password').value;
    if (!p) { msg('password', ''); return; }
    var problem = null;
    if (p.length < 8) problem = '密码至少8位。';
    else if (p.length > 64) problem = '密码最多64位。';
    else if (!/^[A-Za-z0-9#%*\-_!@$&]+$/.test(p)) problem = '密码只能包含字母、数字和特殊字符 # % * - _ ! @ $ &（请将输入法调整为英文模式）。';
    else if (!/[A-Za-z]/.test(p)) problem = '密码需包含字母。';
    else if (!/[0-9]/.test(p)) problem = '密码需包含数字。';
    else if (!p.split('').some(function (c) { return SPECIAL.indexOf(c) >= 0; })) problem = '密码需包含特殊字符（# % * - _ ! @ $ &）。';
    else if (p.toUpperCase() === $('doc_number').value.trim().toUpperCase()) problem = '密码不能与证件号码相同。';
    msg('password', problem || '✓', problem ? 'bad' : 'good');
    if ($('password_confirm').value) checkConfirm();
  }
  function checkConfirm() {
    var c = $('password_confirm').value;
    if (!c) { msg('password_confirm', ''); return; }
    var same = c === $('password').value;
    msg('password_confirm', same ? '✓' : '两次输入的密码不一致。', same ? 'good' : 'bad');
  }

  function syncSendButton() {
    var btn = $('send-code');
    btn.disabled = !(captchaToken && valid.phone !== false && $('phone').value.trim()) || cooldown > 0;
  }

  function tick() {
    var btn = $('send-code');
    if (cooldown > 0) {
      btn.textContent = '重新获取(' + cooldown + 's)';
      cooldown -= 1;
      setTimeout(tick, 1000);
    } else {
      btn.textContent = '通过短信免费获取验证码';
      syncSendButton();
    }
  }

  function sendCode() {
    if (!captchaToken) { msg('verification_code', '请先向右拖动滑块完成图形验证。'); return; }
    var token = captchaToken;
    captchaToken = null; // single use, whatever the answer
    $('send-code').disabled = true;
    post('/api/v1/verification-codes', {
      channel: 'sms', phone: $('phone').value, purpose: 'register', captcha_token: token
    }).then(function (res) {
      if (res.status === 202) {
        msg('verification_code', '验证码已发送，5分钟内有效。今日还可获取' + res.body.remaining_today + '次。', 'good');
        cooldown = 60;
        tick();
        // No new puzzle until one is needed: each raises the address's proof of work (ABUSE-2).
        if (captcha) captcha.rest('验证码已发送。如需重新获取，请点击此处刷新拼图。');
      } else {
        var e = (res.body && res.body.error) || {};
        var f = fieldOf(e.field);
        msg(f === 'phone' ? 'phone' : 'verification_code', e.message || '获取验证码失败，请稍后重试。');
        if (captcha) captcha.reset();
        syncSendButton();
      }
    }).catch(function () {
      msg('verification_code', '网络异常，请稍后重试。');
      if (captcha) captcha.reset();
    });
  }

  // The claim as multipart: the registration fields, the photos, the reason.
  function postClaim(data) {
    var fd = new FormData();
    ['doc_type', 'doc_number', 'name', 'password', 'password_confirm', 'email', 'phone', 'verification_code'].forEach(function (k) {
      fd.append(k, data[k]);
    });
    fd.append('validity_period', data.validity.period);
    fd.append('validity_start', data.validity.start);
    fd.append('agree_terms', data.agree_terms ? 'true' : 'false');
    fd.append('confirm_validity_warning', data.confirm_validity_warning ? 'true' : 'false');
    fd.append('reason', $('reason').value.trim());
    SLOTS.forEach(function (slot) { var f = $(slot).files; if (f && f.length) fd.append(slot, f[0]); });
    return fetch('/api/v1/ownership-claims', {
      method: 'POST', headers: { 'Accept': 'application/json' }, credentials: 'same-origin', body: fd
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) { return { status: r.status, body: j || {} }; });
    });
  }

  function claimMissing() {
    var first = null;
    SLOTS.forEach(function (slot) {
      var f = $(slot).files;
      if (!(f && f.length)) { msg(slot, '请选择照片（JPG格式，小于190KB）。'); first = first || slot; }
    });
    if (!$('reason').value.trim()) { msg('reason', '请填写申诉原因。'); first = first || 'reason'; }
    return first;
  }

  // The number is taken: offer 直接登录, 忘记密码 and 申诉找回账号, and carry
  // what was typed to the claim form.
  function showTaken() {
    var carry = {};
    CARRY.forEach(function (k) { carry[k] = $(k).value; });
    carry.period = period();
    try { sessionStorage.setItem('jszg.claim', JSON.stringify(carry)); } catch (e) {}
    $('taken').hidden = false;
    $('taken').scrollIntoView({ block: 'center' });
  }

  function prefill() {
    var carry = null;
    try { carry = JSON.parse(sessionStorage.getItem('jszg.claim') || 'null'); sessionStorage.removeItem('jszg.claim'); } catch (e) {}
    if (!carry) return false;
    if (carry.doc_type) $('doc_type').value = carry.doc_type;
    syncPeriods();
    CARRY.forEach(function (k) { if (k !== 'doc_type' && carry[k]) $(k).value = carry[k]; });
    var radio = carry.period && form.querySelector('input[name="period"][value="' + carry.period + '"]');
    if (radio) radio.checked = true;
    computeEnd();
    ['doc_number', 'name', 'email', 'phone'].forEach(function (f) { if ($(f).value) checkServer(f); });
    saveDraft();
    return true;
  }

  function submit(confirmWarning) {
    $('form-msg').textContent = '';
    if (claim) {
      var first = claimMissing();
      if (first) { $('form-msg').textContent = '请完整填写带*号的内容。'; if ($(first).focus) $(first).focus(); return; }
    }
    $('submit').disabled = true;
    var data = body({ confirm_validity_warning: !!confirmWarning });
    (claim ? postClaim(data) : post('/api/v1/accounts', data)).then(function (res) {
      $('submit').disabled = false;
      if (claim && res.status === 201) {
        forgetDraft();
        $('due-date').textContent = res.body.due_date || '';
        form.hidden = true;
        $('claim-intro').hidden = true;
        $('claim-done').hidden = false;
        $('claim-done').scrollIntoView({ block: 'start' });
        return;
      }
      if (res.status === 201) {
        try { sessionStorage.setItem('jszg.registered', res.body.account.doc_number_masked); } catch (e) {}
        forgetDraft();
        window.location.href = '/register/done?entry=' + encodeURIComponent(entry);
        return;
      }
      var e = (res.body && res.body.error) || {};
      if (e.code === 'validity_warning') {
        $('warning-text').textContent = e.message;
        $('warning-dialog').showModal();
        return;
      }
      if (!claim && e.code === 'account_exists') showTaken();
      if (res.status === 413) e.message = '上传内容过大（每张照片应小于190KB），请压缩后重新提交。';
      var f = fieldOf(e.field);
      var beside = f && form.querySelector('.msg[data-for="' + f + '"]');
      // Once, next to the field it is about; the line by the button only for the rest.
      if (beside) msg(f, e.message);
      $('form-msg').textContent = beside ? '' : (e.message || '提交失败，请稍后重试。');
      if (claim && e.code === 'no_account') {
        var link = document.createElement('a');
        link.href = '/register?entry=' + encodeURIComponent(entry);
        link.textContent = '去注册';
        link.id = 'go-register';
        $('form-msg').appendChild(document.createTextNode(' '));
        $('form-msg').appendChild(link);
      }
      var input = f && $(f);
      if (input && input.focus) input.focus();
    }).catch(function () {
      $('submit').disabled = false;
      $('form-msg').textContent = '网络异常，请稍后重试。';
    });
  }

  $('doc_type').addEventListener('change', function () { syncPeriods(); if ($('doc_number').value) checkServer('doc_number'); if ($('name').value) checkServer('name'); });
  $('doc_number').addEventListener('input', function () { checkServer('doc_number'); });
  $('name').addEventListener('input', function () { checkServer('name'); });
  form.querySelectorAll('input[name="period"]').forEach(function (r) { r.addEventListener('change', computeEnd); });
  $('start').addEventListener('change', computeEnd);
  $('start').addEventListener('input', computeEnd);
  $('password').addEventListener('input', checkPassword);
  $('password_confirm').addEventListener('input', checkConfirm);
  $('email').addEventListener('input', function () { checkServer('email'); });
  $('phone').addEventListener('input', function () { valid.phone = undefined; checkServer('phone'); syncSendButton(); });
  $('send-code').addEventListener('click', sendCode);
  // An error under a field is about the value that was there: a new value clears it (the
  // live checks above answer again for the fields they watch).
  $('verification_code').addEventListener('input', function () { msg('verification_code', ''); });
  $('agree_terms').addEventListener('change', function () { if (this.checked) msg('agree_terms', ''); });
  $('open-terms').addEventListener('click', function () { $('terms-dialog').showModal(); });
  $('terms-agree').addEventListener('click', function () { $('agree_terms').checked = true; msg('agree_terms', ''); $('terms-dialog').close(); });
  $('terms-close').addEventListener('click', function () { $('terms-dialog').close(); });
  $('warning-confirm').addEventListener('click', function () { $('warning-dialog').close(); submit(true); });
  $('warning-back').addEventListener('click', function () { $('warning-dialog').close(); });
  form.addEventListener('submit', function (ev) { ev.preventDefault(); submit(false); });

  // What was typed survives a reload or the back button for the length of
  // the tab session; passwords, the code and photos are never kept. Each form has its own
  // draft: a claim's data must not turn up as a registration, nor the other way round.
  var DRAFT = claim ? 'jszg.claim.draft' : 'jszg.register.draft';
  var KEPT = ['doc_type', 'doc_number', 'name', 'start', 'email', 'phone'].concat(claim ? ['reason'] : []);
  function saveDraft() {
    var d = { period: period(), agree_terms: $('agree_terms').checked };
    KEPT.forEach(function (k) { d[k] = $(k).value; });
    try { sessionStorage.setItem(DRAFT, JSON.stringify(d)); } catch (e) {}
  }
  function forgetDraft() {
    try { sessionStorage.removeItem(DRAFT); } catch (e) {}
  }
  function restoreDraft() {
    var d = null;
    try { d = JSON.parse(sessionStorage.getItem(DRAFT) || 'null'); } catch (e) {}
    if (!d || typeof d !== 'object') return [];
    var restored = [];
    KEPT.forEach(function (k) {
      if (typeof d[k] === 'string' && d[k]) { $(k).value = d[k]; restored.push(k); }
    });
    syncPeriods();
    var radio = d.period && form.querySelector('input[name="period"][value="' + d.period + '"]');
    if (radio && !radio.closest('label').hidden) radio.checked = true;
    $('agree_terms').checked = d.agree_terms === true;
    return restored;
  }
  form.addEventListener('input', saveDraft);
  form.addEventListener('change', saveDraft);

  if (window.JszgCaptcha) {
    captcha = window.JszgCaptcha.mount($('captcha'), {
      purpose: 'sms',
      onToken: function (token) { captchaToken = token; msg('verification_code', ''); syncSendButton(); }
    });
  }
  if (claim) {
    SLOTS.forEach(function (slot) {
      var input = $(slot);
      window.JszgPhoto.watch(input, { preview: $(input.getAttribute('data-preview')), msg: form.querySelector('.msg[data-for="' + slot + '"]') });
    });
    $('reason').addEventListener('input', function () { msg('reason', ''); });
  }
  syncPeriods();
  // A claim carried over from a refused registration fills the form; otherwise (or after a
  // reload) the form's own draft does.
  if (!(claim && prefill())) {
    restoreDraft().forEach(function (k) {
      if (k === 'doc_number' || k === 'name' || k === 'email' || k === 'phone') checkServer(k);
    });
  }
  computeEnd();
})();
