% rebase('base.tpl', title='Plugins')
<h1>Plugins</h1>
<section aria-labelledby="upload-h" class="card">
<h2 id="upload-h">Install or upgrade a plugin</h2>
<form method="post" action="/plugins/install" enctype="multipart/form-data" id="upload-form">
  <input type="hidden" name="csrf_token" value="{{visitor.session.csrf}}">
  <label for="plugin-file">Plugin archive (.zip)</label>
  <input id="plugin-file" name="file" type="file" accept=".zip,application/zip" required>
  <button type="submit">Upload and install</button>
  <progress id="upload-progress" max="100" value="0" hidden aria-label="Upload progress"></progress>
  <p id="upload-result" role="status" aria-live="polite"></p>
</form>
</section>
<h2>Installed</h2>
<div class="scroll">
<div class="scroll"><table>
<thead><tr><th scope="col">Plugin</th><th scope="col">Version</th><th scope="col">Enabled</th>
<th scope="col">Selected by default</th><th scope="col">Earlier versions</th><th scope="col">Pages</th>
<th scope="col">Actions</th></tr></thead>
<tbody>
% for p in plugins:
<tr id="plugin-{{p['id']}}">
<td><strong>{{p['name']}}</strong><br><span class="hint">{{(p.get('description') or '')[:160]}}</span></td>
<td>{{p['version']}}</td>
<td>{{'yes' if p['selected'] else 'no'}}</td>
<td>{{'yes' if p['defaultSelected'] else 'no'}}</td>
<td>{{p['earlier'] or '—'}}</td>
<td>
% if p['config_url']:
<a href="{{p['config_url']}}">Configure</a>
% end
% if p['about_url']:
<a href="{{p['about_url']}}">About</a>
% end
<a href="/rundb/api/v1/plugin/{{p['id']}}/info/">Info</a>
</td>
<td>
% for action, label, css in (('disable' if p['selected'] else 'enable', 'Disable' if p['selected'] else 'Enable', 'secondary'), ('default-off' if p['defaultSelected'] else 'default-on', 'Not by default' if p['defaultSelected'] else 'Select by default', 'secondary'), ('uninstall', 'Uninstall', 'danger')):
<form method="post" action="/plugins/{{p['id']}}/{{action}}" class="inline"
% if action == 'uninstall':
 onsubmit="return confirm('Uninstall {{p['name']}}? Its results on reports are kept.')"
% end
><input type="hidden" name="csrf_token" value="{{visitor.session.csrf}}"><button type="submit" class="{{css}}" aria-label="{{label}} {{p['name']}}">{{label}}</button></form>
% end
</td></tr>
% end
% if not plugins:
<tr><td colspan="7">No plugin is installed. Upload a .zip above.</td></tr>
% end
</tbody></table></div>
</div>
<script src="/static/upload.js" defer></script>
