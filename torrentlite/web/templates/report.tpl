% rebase('base.tpl', title=title)
% r = data['result']
<p class="crumbs"><a href="/runs">Runs</a> › report</p>
<h1>{{r['resultsName']}} <span class="state state-{{r['status'].replace(' ', '-')}}">{{r['status']}}</span></h1>
% include('report_summary.tpl')
% include('report_plots.tpl')
% include('report_barcodes.tpl')
% include('report_output.tpl')
<section aria-labelledby="plugins-h">
<h2 id="plugins-h">Plugins</h2>
<div class="toolbar"><form method="get" action="/report/{{r['id']}}/select" class="inline">
<button type="submit" data-open-dialog="select-plugins" aria-haspopup="dialog">Select plugins to run</button></form>
<a class="button secondary" href="/rundb/api/v1/results/{{r['id']}}/pluginresults/">JSON</a></div>
% include('report_plugins.tpl', **section)
</section>
% include('report_select.tpl')
<script type="application/json" id="plot-data">{{!plot_json}}</script>
