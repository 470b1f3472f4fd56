def ping(bucket):
    return {"pong": bucket.get("name")}
