# REST extension of {{name}}: each function here answers /rundb/api/v1/plugin/{{name}}/extend/<function>/.
# It runs in a worker process with a time limit, gets one dict argument (the "bucket") and returns anything
# JSON can carry.


def summary(bucket):
    """What the plugin is and how it is configured; config.html shows the text."""
    config = bucket.get("config") or {}
    greeting = config.get("greeting", "Hello")
    return {"text": "%s %s says %s" % (bucket["name"], bucket["version"], greeting),
            "method": bucket["request_method"]}
