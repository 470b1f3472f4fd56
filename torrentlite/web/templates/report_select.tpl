<dialog id="select-plugins" aria-labelledby="select-h">
<header><h2 id="select-h">Select plugins to run</h2>
<button type="button" class="secondary" data-close-dialog>Close</button></header>
<div class="content">
% include('plugin_choices.tpl', report_pk=data['result']['id'])
</div>
</dialog>
<dialog id="plugin-instance" aria-label="Plugin options">
<header><h2>Plugin options</h2><button type="button" class="secondary" data-close-dialog>Close</button></header>
<div class="content"><iframe data-src title="The plugin's own options page"></iframe></div>
</dialog>
