#!/bin/sh
# Create the photo bucket and an access key that may use only that bucket. Running it again
# changes nothing, so the one-shot service may run on every `docker compose up`.
set -eu

mc alias set local http://minio:9000 "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD"
mc mb --ignore-existing "local/$BUCKET"
mc anonymous set none "local/$BUCKET"
mc admin policy create local zapora-bucket /etc/zapora/bucket-policy.json
mc admin user add local "$APP_ACCESS_KEY" "$APP_SECRET_KEY"
# Attaching a policy that is already attached is an error, so check first.
if ! mc admin user info local "$APP_ACCESS_KEY" | grep -q zapora-bucket; then
    mc admin policy attach local zapora-bucket --user "$APP_ACCESS_KEY"
fi
echo "bucket $BUCKET is ready for $APP_ACCESS_KEY"
