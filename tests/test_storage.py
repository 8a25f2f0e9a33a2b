"""Storage: the ECR repository and the private, TLS-only, expiring ALB access-log bucket."""

from __future__ import annotations

import json

import pulumi_aws as aws
import pytest

from components.settings import StorageSettings
from components.storage import Storage, StorageArgs
from tools.harness import Run, run_stack
from tools.mocks import ACCOUNT_ID

CONFIG = {"aws:region": "ap-northeast-1", "platform:topology": "staging"}
BUCKET = f"platform-staging-alb-logs-{ACCOUNT_ID}"
TOKYO_ELB_ACCOUNT = "582318560864"
SSE_CONFIGURATION = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
# Not the defaults, so a hard-coded value cannot pass.
KEEP_IMAGES = 12
EXPIRY_DAYS = 45


def _storage(settings: StorageSettings, name_prefix: str = "platform-staging") -> None:
    Storage(
        "storage",
        StorageArgs(
            settings=settings, name_prefix=name_prefix, region="ap-northeast-1", repositories=["api", "web"]
        ),
    )


@pytest.fixture(scope="module")
def run() -> Run:
    settings = StorageSettings(
        ecr_immutable_tags=True,
        ecr_keep_images=KEEP_IMAGES,
        access_log_expiry_days=EXPIRY_DAYS,
        force_destroy_buckets=True,
    )
    return run_stack("staging", config=CONFIG, program=lambda: _storage(settings))


@pytest.fixture(scope="module")
def mutable_run() -> Run:
    settings = StorageSettings(ecr_immutable_tags=False, force_destroy_buckets=False)
    return run_stack("staging", config=CONFIG, program=lambda: _storage(settings))


def _bucket_policy(run: Run) -> list[dict]:
    policy = run.one("aws:s3/bucketPolicy:BucketPolicy")
    assert policy["bucket"] == BUCKET
    return json.loads(policy["policy"])["Statement"]


# -- ECR ---------------------------------------------------------------------------------------


def test_tag_immutability_follows_the_setting(run: Run, mutable_run: Run) -> None:
    # Every service's repository follows the one setting.
    assert {r["imageTagMutability"] for r in run.of_type("aws:ecr/repository:Repository")} == {"IMMUTABLE"}
    assert {r["imageTagMutability"] for r in mutable_run.of_type("aws:ecr/repository:Repository")} == {
        "MUTABLE"
    }


def test_repository_scans_on_push_is_encrypted_and_never_force_deleted(run: Run) -> None:
    repository = run.one("aws:ecr/repository:Repository", "web")
    assert repository["imageScanningConfiguration"] == {"scanOnPush": True}
    assert repository["encryptionConfigurations"] == [{"encryptionType": "AES256"}]
    assert repository["forceDelete"] is False


def test_lifecycle_keeps_the_last_untagged_images_and_the_configured_tagged_count(run: Run) -> None:
    lifecycle = run.one("aws:ecr/lifecyclePolicy:LifecyclePolicy", "web")
    assert (
        lifecycle["repository"]
        == run.one("aws:ecr/repository:Repository", "web")["name"]
        == "platform-staging-web"
    )
    rules = {r["selection"]["tagStatus"]: r for r in json.loads(lifecycle["policy"])["rules"]}
    untagged, tagged = rules["untagged"]["selection"], rules["tagged"]["selection"]
    # Count-based expiry of untagged images: the long-standing imageCountMoreThan count type with
    # the expire action (https://docs.aws.amazon.com/AmazonECR/latest/userguide/lifecycle_policy_parameters.html);
    # nothing pins an untagged digest (staging pulls its moving tag at every task start), and ten
    # leave room to roll back.
    assert (untagged["countType"], untagged["countNumber"]) == ("imageCountMoreThan", 10)
    assert "countUnit" not in untagged  # only for sinceImagePushed
    assert (tagged["countType"], tagged["countNumber"]) == ("imageCountMoreThan", KEEP_IMAGES)
    assert tagged["tagPatternList"] == ["*"]
    assert {r["action"]["type"] for r in rules.values()} == {"expire"}
    # ECR sorts rules by priority; out of order they would replace the policy on every up
    # (internal/service/ecr/lifecycle_policy.go compares after sorting, but the policy is ForceNew).
    priorities = [r["rulePriority"] for r in json.loads(lifecycle["policy"])["rules"]]
    assert priorities == sorted(priorities) and len(set(priorities)) == len(priorities)


# -- Access-log bucket -------------------------------------------------------------------------


def test_bucket_name_is_lowercase_unique_per_account_and_force_destroy_follows_the_setting(
    run: Run, mutable_run: Run
) -> None:
    bucket = run.one("aws:s3/bucket:Bucket")
    assert bucket["bucket"] == BUCKET and len(BUCKET) <= 63
    assert bucket["forceDestroy"] is True
    assert mutable_run.one("aws:s3/bucket:Bucket")["forceDestroy"] is False


def test_only_current_bucket_resource_types_are_used(run: Run) -> None:
    assert not [t for t in run.types() if t.startswith("aws:s3/") and "V2" in t]


def test_public_access_is_blocked_entirely(run: Run) -> None:
    block = run.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert block["bucket"] == BUCKET
    for flag in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"):
        assert block[flag] is True, flag


def test_acls_are_disabled(run: Run) -> None:
    ownership = run.one("aws:s3/bucketOwnershipControls:BucketOwnershipControls")
    assert ownership["bucket"] == BUCKET
    assert ownership["rule"] == {"objectOwnership": "BucketOwnerEnforced"}


def test_encryption_is_sse_s3_because_alb_logs_reject_sse_kms(run: Run) -> None:
    encryption = run.one(SSE_CONFIGURATION)
    assert encryption["bucket"] == BUCKET
    algorithms = [r["applyServerSideEncryptionByDefault"]["sseAlgorithm"] for r in encryption["rules"]]
    assert algorithms == ["AES256"]


def test_logs_expire_after_the_configured_days(run: Run) -> None:
    lifecycle = run.one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
    assert lifecycle["bucket"] == BUCKET
    [rule] = lifecycle["rules"]
    assert rule["status"] == "Enabled"
    assert rule["filter"] == {}  # every object
    assert rule["expiration"]["days"] == EXPIRY_DAYS
    assert rule["noncurrentVersionExpiration"]["noncurrentDays"] >= 1
    assert rule["abortIncompleteMultipartUpload"]["daysAfterInitiation"] >= 1


def test_bucket_policy_denies_every_request_without_tls(run: Run) -> None:
    [deny] = [s for s in _bucket_policy(run) if s["Effect"] == "Deny"]
    assert deny["Principal"] == "*" and deny["Action"] == "s3:*"
    assert set(deny["Resource"]) == {f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"}
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_only_elb_log_delivery_may_write_and_only_under_this_accounts_alb_prefix(run: Run) -> None:
    allows = [s for s in _bucket_policy(run) if s["Effect"] == "Allow"]
    principals = {json.dumps(s["Principal"], sort_keys=True) for s in allows}
    assert principals == {
        json.dumps({"AWS": f"arn:aws:iam::{TOKYO_ELB_ACCOUNT}:root"}),
        json.dumps({"Service": "logdelivery.elasticloadbalancing.amazonaws.com"}),
    }
    prefix = run.one("platform:storage:Storage").outputs["access_log_prefix"]
    for statement in allows:
        assert statement["Action"] == "s3:PutObject"
        assert statement["Resource"] == f"arn:aws:s3:::{BUCKET}/{prefix}/AWSLogs/{ACCOUNT_ID}/*"


def test_outputs_point_at_the_resources(run: Run) -> None:
    outputs = run.one("platform:storage:Storage").outputs
    assert outputs["access_log_bucket_name"] == BUCKET
    assert outputs["access_log_bucket_arn"] == f"arn:aws:s3:::{BUCKET}"
    registry = f"{ACCOUNT_ID}.dkr.ecr.ap-northeast-1.amazonaws.com"
    assert outputs["repository_urls"] == {
        "api": f"{registry}/platform-staging-api",
        "web": f"{registry}/platform-staging-web",
    }
    assert outputs["repository_arns"] == {
        service: f"arn:aws:ecr:ap-northeast-1:{ACCOUNT_ID}:repository/platform-staging-{service}"
        for service in ("api", "web")
    }


def test_the_bucket_name_reaches_the_alb_only_after_elb_may_write_to_the_bucket() -> None:
    # ELB refuses to turn access logging on (Access Denied) while the bucket policy is missing.
    def program() -> None:
        storage = Storage(
            "storage",
            StorageArgs(
                settings=StorageSettings(),
                name_prefix="platform-staging",
                region="ap-northeast-1",
                repositories=["api"],
            ),
        )
        aws.lb.LoadBalancer(
            "alb", access_logs={"bucket": storage.access_log_bucket_name, "prefix": "alb", "enabled": True}
        )

    run = run_stack("staging", config=CONFIG, program=program)
    alb = run.one("aws:lb/loadBalancer:LoadBalancer")
    assert alb["accessLogs"]["bucket"] == BUCKET
    assert run.one("aws:s3/bucketPolicy:BucketPolicy").urn in alb.dependencies
