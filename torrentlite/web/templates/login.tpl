% rebase('base.tpl', title='Sign in')
<section class="signin">
<h1>Sign in</h1>
% if failed:
<p class="error" role="alert">{{failed}}</p>
% end
<form method="post" action="/login">
  <input type="hidden" name="csrf_token" value="{{csrf}}">
  <input type="hidden" name="next" value="{{next}}">
  <label for="username">Username</label>
  <input id="username" name="username" autocomplete="username" required autofocus value="{{username}}">
  <label for="password">Password</label>
  <input id="password" name="password" type="password" autocomplete="current-password" required>
  <button type="submit">Sign in</button>
</form>
<p class="hint">Scripts use API keys instead (see your user page once signed in).</p>
</section>
