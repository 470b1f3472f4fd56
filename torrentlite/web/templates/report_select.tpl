<dialog id="select-plugins" aria-labelledby="select-h">
<header><h2 id="select-h">Select plugins to run</h2>
<button type="button" class="secondary" data-close-dialog>Close</button></header>
<div class="content">
% if not plugins:
<p>No plugin is enabled. <a href="/plugins">Install or enable one</a>.</p>
% end
<table>
<thead><tr><th scope="col">Plugin</th><th scope="col">Version</th><th scope="col">Run</th></tr></thead>
<tbody>
% for p in plugins:
<tr><td>{{p['name']}}</td><td>{{p['version']}}</td><td>
% if p['instance']:
<a class="button" href="{{p['instance']}}?report={{data['result']['id']}}" data-open-dialog="plugin-instance"
   data-src="{{p['instance']}}?report={{data['result']['id']}}">Configure and run {{p['name']}}</a>
% else:
<form method="post" action="/report/{{data['result']['id']}}/plugins/run" class="inline">
<input type="hidden" name="csrf_token" value="{{visitor.session.csrf}}">
<input type="hidden" name="plugin" value="{{p['name']}}">
<button type="submit">Run {{p['name']}}</button></form>
% end
</td></tr>
% end
</tbody></table>
</div>
</dialog>
<dialog id="plugin-instance" aria-label="Plugin options">
<header><h2>Plugin options</h2><button type="button" class="secondary" data-close-dialog>Close</button></header>
<div class="content"><iframe data-src title="The plugin's own options page"></iframe></div>
</dialog>
