% rebase('base.tpl', title=visitor.user.username)
<h1>{{visitor.user.username}}</h1>
<dl class="facts">
  <dt>Role</dt><dd>{{'administrator' if visitor.user.is_superuser else 'user'}}</dd>
  <dt>API key</dt><dd><code id="apikey">{{api_key}}</code></dd>
  <dt>Session ends</dt><dd>{{expires}} UTC</dd>
</dl>
<h2>Using the API key</h2>
<pre class="example">curl -H "Authorization: ApiKey {{visitor.user.username}}:{{api_key}}" "{{base_url}}/rundb/api/v1/results/?limit=5"</pre>
