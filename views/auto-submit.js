// Posts a page's onward form by itself (views/form-post.ejs); without JavaScript the person
// presses its Continue button instead.
document.addEventListener('DOMContentLoaded', function () {
  var form = document.querySelector('form[data-auto-submit]');
  if (form) form.submit();
});
