/* Photo inputs of the manual-review and contact-change forms: a preview of
 * the chosen picture and a hint when it will not pass (the server decodes
 * and decides anyway). Limits as in the manual: JPG, under 190KB.
 *
 *   JszgPhoto.watch(input, { preview: img, msg: p });   // returns { check() }
 */
(function () {
  'use strict';
  // 1 KB = 1,024 bytes, as Windows Explorer and phones count them (the server's rule too).
  var KB = 1024;
  var MAX_BYTES = 190 * KB;

  function hint(file) {
    if (!file) return '';
    var jpeg = file.type === 'image/jpeg' || (!file.type && /\.jpe?g$/i.test(file.name));
    if (!jpeg) return '照片格式应为JPG或JPEG，请重新选择。';
    if (file.size >= MAX_BYTES) {
      return '照片大小为' + Math.ceil(file.size / KB) + 'KB，应小于190KB，请压缩后重新上传。';
    }
    return '';
  }

  function watch(input, opts) {
    var preview = opts && opts.preview;
    var msg = opts && opts.msg;
    var url = null;

    function show(text, kind) {
      if (!msg) return;
      msg.textContent = text || '';
      msg.className = 'msg' + (text ? ' ' + (kind || 'bad') : '');
    }

    function update() {
      var file = input.files && input.files[0];
      if (url) { URL.revokeObjectURL(url); url = null; }
      if (preview) {
        if (file && /^image\//.test(file.type)) {
          url = URL.createObjectURL(file);
          preview.src = url;
          preview.hidden = false;
        } else {
          preview.removeAttribute('src');
          preview.hidden = true;
        }
      }
      var problem = hint(file);
      input.classList.toggle('bad', !!problem);
      if (problem) show(problem, 'bad');
      else if (file) show('已选择：' + file.name + '（' + Math.max(1, Math.round(file.size / KB)) + 'KB）', 'good');
      else show('');
      return problem;
    }

    // A file that is no picture at all shows no broken-image icon.
    if (preview) preview.addEventListener('error', function () { preview.hidden = true; });
    input.addEventListener('change', update);
    return {
      check: function () {
        var file = input.files && input.files[0];
        return file ? hint(file) : '请选择照片（JPG格式，小于190KB）。';
      },
      clear: function () { input.value = ''; update(); },
      say: show
    };
  }

  window.JszgPhoto = { watch: watch, MAX_BYTES: MAX_BYTES };
})();
