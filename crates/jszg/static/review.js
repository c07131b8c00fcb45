// 人工审核 (MR-1..4): the computed end date, photo previews and hints, the
// confirmation dialog with the applications left in the period, then a
// multipart POST /api/v1/me/reviews.
(function () {
  'use strict';
  var form = document.getElementById('review-form');
  if (!form) return;
  var $ = function (id) { return document.getElementById(id); };
  var remaining = parseInt(form.getAttribute('data-remaining'), 10);
  if (isNaN(remaining)) remaining = 3;
  var SLOTS = ['front', 'back', 'handheld'];
  var photos = {};
  var busy = false;

  function msg(field, text, kind) {
    var el = form.querySelector('.msg[data-for="' + field + '"]');
    if (el) { el.textContent = text || ''; el.className = 'msg' + (text ? ' ' + (kind || 'bad') : ''); }
    var input = $(field);
    if (input && input.classList) input.classList.toggle('bad', !!text && (kind || 'bad') === 'bad');
  }
  function say(text, kind) {
    $('form-msg').textContent = text || '';
    $('form-msg').className = 'msg form-msg' + (text ? ' ' + (kind || 'bad') : '');
  }

  // The API's field names, mapped to this form's.
  function fieldOf(apiField) {
    if (!apiField) return null;
    if (apiField === 'validity.start') return 'validity_start';
    if (apiField.indexOf('validity') === 0) return 'validity_period';
    return apiField;
  }

  function period() {
    var checked = form.querySelector('input[name="validity_period"]:checked');
    return checked ? checked.value : '';
  }

  // End = start + N years, same month and day; 29 Feb falls back to 28 Feb (DOC-3).
  function computeEnd() {
    var p = period(), end = $('validity_end');
    if (p === 'long') { end.value = '长期'; return; }
    var m = /^(\d{4})-(\d{2})-(\d{2})$/.exec($('validity_start').value);
    var years = { '5y': 5, '10y': 10, '20y': 20 }[p];
    if (!m || !years) { end.value = ''; return; }
    var y = +m[1] + years, mo = +m[2], d = +m[3];
    var leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
    if (mo === 2 && d === 29 && !leap) d = 28;
    end.value = y + '-' + String(mo).padStart(2, '0') + '-' + String(d).padStart(2, '0');
  }

  SLOTS.forEach(function (slot) {
    var input = $(slot);
    photos[slot] = window.JszgPhoto.watch(input, {
      preview: $(input.getAttribute('data-preview')),
      msg: form.querySelector('.msg[data-for="' + slot + '"]')
    });
  });
  form.querySelectorAll('input[name="validity_period"]').forEach(function (r) {
    r.addEventListener('change', function () { msg('validity_period', ''); computeEnd(); });
  });
  $('validity_start').addEventListener('change', function () { msg('validity_start', ''); computeEnd(); });
  $('validity_start').addEventListener('input', computeEnd);
  $('name').addEventListener('input', function () { msg('name', ''); });
  $('reason').addEventListener('input', function () { msg('reason', ''); });

  // Required fields are checked here; size and format are hints only.
  function missing() {
    var first = null;
    function need(ok, field, text) {
      if (ok) return;
      msg(field, text);
      if (!first) first = field;
    }
    need($('name').value.trim(), 'name', '请填写与证件一致的姓名。');
    need(period(), 'validity_period', '请选择证件有效时间。');
    need(/^\d{4}-\d{2}-\d{2}$/.test($('validity_start').value), 'validity_start', '请选择完整的有效开始日期（年、月、日）。');
    SLOTS.forEach(function (slot) {
      var f = $(slot).files;
      need(f && f.length, slot, '请选择照片（JPG格式，小于190KB）。');
    });
    need($('reason').value.trim(), 'reason', '请填写申请原因。');
    return first;
  }

  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    if (busy) return;
    say('');
    var first = missing();
    if (first) {
      say('请完整填写带*号的内容。');
      var el = $(first);
      if (el && el.focus) el.focus();
      return;
    }
    // The dialog spends nothing, but "您还剩N次机会" must not be asked about
    // photos the page already knows will be refused.
    var bad = SLOTS.filter(function (slot) {
      var problem = photos[slot].check();
      if (problem) msg(slot, problem);
      return !!problem;
    });
    if (bad.length) {
      say('有照片不符合要求（JPG格式，小于190KB），请按提示更换后再提交。');
      $(bad[0]).focus();
      return;
    }
    if (remaining <= 0) {
      say('每年1月1日到8月31日、9月1日到12月31日，每个周期您最多可以申请三次人工审核，本周期的次数已用完。');
      return;
    }
    $('confirm-remaining').textContent = String(remaining);
    $('confirm-dialog').showModal();
  });

  $('confirm-back').addEventListener('click', function () { $('confirm-dialog').close(); });
  $('confirm-submit').addEventListener('click', function () { $('confirm-dialog').close(); submit(); });

  function submit() {
    busy = true;
    $('submit').disabled = true;
    say('正在提交，请稍候…', 'note');
    var data = new FormData();
    data.append('validity_period', period());
    data.append('validity_start', $('validity_start').value);
    data.append('name', $('name').value.trim());
    data.append('reason', $('reason').value.trim());
    SLOTS.forEach(function (slot) { data.append(slot, $(slot).files[0]); });
    fetch('/api/v1/me/reviews', {
      method: 'POST',
      headers: { 'Accept': 'application/json' },
      credentials: 'same-origin',
      body: data
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) { return { status: r.status, body: j || {} }; });
    }).then(function (res) {
      busy = false;
      $('submit').disabled = false;
      if (res.status === 201) {
        say('');
        $('due-date').textContent = res.body.due_date || '';
        form.parentNode.hidden = true;
        $('review-done').hidden = false;
        $('review-done').scrollIntoView({ block: 'start' });
        return;
      }
      var e = (res.body && res.body.error) || {};
      if (res.status === 413) e.message = '上传内容过大（每张照片应小于190KB），请压缩后重新提交。';
      var f = fieldOf(e.field);
      if (res.status === 429) remaining = 0;
      // One message, at its field when the page has one; otherwise above the button.
      if (f && form.querySelector('.msg[data-for="' + f + '"]')) {
        msg(f, e.message);
        say('');
        var el = $(f);
        if (el && el.focus) el.focus();
      } else {
        say(e.message || '提交失败，请稍后重试。');
      }
    }).catch(function () {
      busy = false;
      $('submit').disabled = false;
      say('网络异常，请稍后重试。');
    });
  }

  computeEnd();
})();
