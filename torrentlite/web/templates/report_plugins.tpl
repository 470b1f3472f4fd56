<div id="plugins" aria-live="polite"
% if polling:
 hx-get="/report/{{pk}}/plugins?sig={{sig}}" hx-trigger="every 2s" hx-swap="outerHTML"
% end
>
% if not entries:
<p>No plugin has run on this report.</p>
% end
% for e in entries:
<article class="plugin" id="plugin-{{e['id']}}" data-state="{{e['state']}}">
<header>
  <h3>{{e['name']}}</h3>
  <span class="hint">v{{e['version']}}</span>
  <span class="state state-{{e['state'].replace(' ', '-')}}">{{e['state']}}</span>
  <div class="actions">
    <a href="{{e['url']}}drmaa_stdout.txt" target="_blank" rel="noopener">View log</a>
    % if e['can_stop']:
    <form method="post" action="/report/{{pk}}/plugins/{{e['id']}}/stop" class="inline">
      <input type="hidden" name="csrf_token" value="{{visitor.session.csrf}}">
      <button type="submit" class="danger">Stop</button></form>
    % else:
    <form method="post" action="/report/{{pk}}/plugins/{{e['id']}}/rerun" class="inline">
      <input type="hidden" name="csrf_token" value="{{visitor.session.csrf}}">
      <button type="submit" class="secondary">Run again</button></form>
    <form method="post" action="/report/{{pk}}/plugins/{{e['id']}}/remove" class="inline">
      <input type="hidden" name="csrf_token" value="{{visitor.session.csrf}}">
      <button type="submit" class="secondary">Remove</button></form>
    % end
  </div>
</header>
<div class="body">
<dl class="facts">
  % for label, key in (('Started', 'start'), ('Ended', 'end'), ('Elapsed', 'elapsed'), ('Size', 'size'), ('Wall time', 'wall'), ('CPU time', 'cpu'), ('Peak memory', 'memory'), ('Outcome', 'reason')):
  % if e[key]:
  <dt>{{label}}</dt><dd>{{e[key]}}</dd>
  % end
  % end
</dl>
% for message in e['errors']:
<p class="error">{{message}}</p>
% end
% for block in e['blocks']:
<iframe src="{{e['url']}}{{block}}" title="{{e['name']}}: {{block}}" loading="lazy"></iframe>
% end
% if e['links']:
<p>Output: 
% for link in e['links']:
<a href="{{e['url']}}{{link}}">{{link}}</a>
% end
</p>
% end
</div>
</article>
% end
</div>
