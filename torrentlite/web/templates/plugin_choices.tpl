% if not plugins:
<p>No plugin is enabled. <a href="/plugins">Install or enable one</a>.</p>
% end
<table>
<thead><tr><th scope="col">Plugin</th><th scope="col">Version</th><th scope="col">Run</th></tr></thead>
<tbody>
% for p in plugins:
<tr><td>{{p['name']}}</td><td>{{p['version']}}</td><td>
% if p['instance']:
<a class="button" href="{{p['instance']}}?report={{report_pk}}" data-open-dialog="plugin-instance"
   data-src="{{p['instance']}}?report={{report_pk}}">Configure and run {{p['name']}}</a>
% else:
<form method="post" action="/report/{{report_pk}}/plugins/run" class="inline">
<input type="hidden" name="csrf_token" value="{{visitor.session.csrf}}">
<input type="hidden" name="plugin" value="{{p['name']}}">
<button type="submit">Run {{p['name']}}</button></form>
% end
</td></tr>
% end
</tbody></table>
