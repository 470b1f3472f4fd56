% rebase('base.tpl', title=title)
<p class="crumbs"><a href="/runs">Runs</a> › <a href="/report/{{report_pk}}">{{report_name}}</a> › plugins</p>
<h1>Select plugins to run</h1>
% include('plugin_choices.tpl')
