<section id="active-jobs" hx-get="/jobs/active" hx-trigger="every 3s" hx-swap="outerHTML" aria-labelledby="active-h">
<h2 id="active-h">Queued and running</h2>
<p>Slots in use: <strong>{{queue['running']}} of {{queue['slots']}}</strong> · waiting: {{queue['waiting']}} ·
memory floor {{queue['floor']}}, available {{queue['available']}}
% if queue['below_floor']:
<span class="state state-Error">(below the floor: no new job starts)</span>
% end
</p>
<div class="scroll"><table>
<thead><tr><th scope="col">Job</th><th scope="col">Plugin</th><th scope="col">Report</th><th scope="col">State</th>
<th scope="col">Level</th><th scope="col">Queued</th><th scope="col">Started</th><th scope="col">Running for</th>
<th scope="col">CPU</th><th scope="col">Memory</th><th scope="col">Cancel</th></tr></thead>
<tbody>
% for j in active:
<tr><td>{{j['jobid']}}</td><td>{{j['plugin']}} {{j['version']}}</td>
<td><a href="/report/{{j['report']}}#plugin-{{j['pluginresult']}}">{{j['report_name']}}</a></td>
<td><span class="state state-{{j['state']}}">{{j['state']}}</span></td><td>{{j['level']}}</td><td>{{j['queued']}}</td>
<td>{{j["start"]}}</td><td>{{j["elapsed"]}}</td><td>{{j["cpu"]}}</td><td>{{j["memory"]}}</td>
<td><form method="post" action="/jobs/{{j['pluginresult']}}/cancel" class="inline">
<input type="hidden" name="csrf_token" value="{{visitor.session.csrf}}">
<button type="submit" class="danger" aria-label="Cancel job {{j['jobid']}} ({{j['plugin']}})">Cancel</button></form></td></tr>
% end
% if not active:
<tr><td colspan="11">No plugin job is queued or running.</td></tr>
% end
</tbody></table></div>
</section>
