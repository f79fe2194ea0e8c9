#!/bin/sh
# Print the full hook output that cdagent uploaded for a deployment (:hook_logs_s3_uri:), for a
# CI job that has just seen the deployment fail: per instance, the failing lifecycle event's log
# first, then the other events in lifecycle order.
#
#   usage: show-hook-logs.sh <deployment-id> s3://<bucket>/<prefix>
#
# The objects are <prefix>/<deployment-id>/<instance>/<event>.log; <instance> is the EC2 instance
# id or the on-premises instance name, as `aws deploy list-deployment-instances` lists them.
# The CI role needs, besides codedeploy:ListDeploymentInstances and GetDeploymentInstance:
#   {"Effect": "Allow", "Action": "s3:GetObject",
#    "Resource": "arn:aws:s3:::<bucket>/<prefix>/*"},
#   {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::<bucket>",
#    "Condition": {"StringLike": {"s3:prefix": "<prefix>/*"}}}
set -eu
dep=$1
uri=${2%/}
rest=${uri#s3://}
bucket=${rest%%/*}
prefix=${rest#"$bucket"}
prefix=${prefix#/}
base="${prefix:+$prefix/}$dep"
order="ApplicationStop DownloadBundle BeforeInstall Install AfterInstall ApplicationStart
ValidateService BeforeBlockTraffic AfterBlockTraffic BeforeAllowTraffic AfterAllowTraffic"

tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
show() { # instance event
    key="$base/$1/$2.log"
    aws s3 cp "s3://$bucket/$key" "$tmp" >/dev/null 2>&1 || return 1
    echo "===== $1 $2 (s3://$bucket/$key) ====="
    cat "$tmp"
}

for inst in $(aws deploy list-deployment-instances --deployment-id "$dep" \
                --query 'instancesList[]' --output text); do
    failed=$(aws deploy get-deployment-instance --deployment-id "$dep" --instance-id "$inst" \
               --query 'instanceSummary.lifecycleEvents[?status==`Failed`].lifecycleEventName' \
               --output text)
    [ -n "$failed" ] || continue
    for ev in $failed; do
        show "$inst" "$ev" || echo "===== $inst $ev: no uploaded log (no script ran, or the upload failed) ====="
    done
    for ev in $order; do
        case " $failed " in *" $ev "*) continue ;; esac
        show "$inst" "$ev" || true
    done
done
