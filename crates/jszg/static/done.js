// Show the masked account number the registration page left behind.
(function () {
  var masked = null;
  try { masked = sessionStorage.getItem('jszg.registered'); sessionStorage.removeItem('jszg.registered'); } catch (e) {}
  var el = document.getElementById('done-account');
  if (masked && el) el.textContent = '（' + masked + '）';
})();
