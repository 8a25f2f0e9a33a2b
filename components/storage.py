"""The services' container image repositories and the bucket the ALB writes its access logs to."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.outputs import publish
from components.settings import StorageSettings

ACCESS_LOG_PREFIX = "alb"
"""Key prefix the ALB must be configured with (``access_logs.prefix``); only it is writable."""
ELB_LOG_DELIVERY_SERVICE = "logdelivery.elasticloadbalancing.amazonaws.com"


@dataclass(frozen=True)
class StorageArgs:
    settings: StorageSettings
    """The ``platform:storage`` section."""
    name_prefix: str
    """Physical-name prefix of the stack, e.g. ``platform-staging`` (lower case)."""
    region: str
    """Region of the repositories and the bucket; must be the ALB's region (ELB only logs there)."""
    repositories: Sequence[str]
    """The services that get an ECR repository ``<name_prefix>-<service>`` (those deployed from
    this stack's registry), each with the same tag rule and lifecycle."""


# Untagged images (builds a moving tag left behind): the newest ones are kept, a rollback's worth.
# Nothing running needs one: staging's tasks pull the moving tag at every start
# (versionConsistency disabled, components/containers.py) and commercial's tags are immutable, so no
# deployment is pinned to an untagged digest; ECR never expires an image a manifest list still
# references ("Automate the cleanup of images by using lifecycle policies"). Count-based, not
# sinceImagePulled: AWS documents that count type for transitions to the archive storage class
# and this program could not confirm ECR accepts it with an expire action.
UNTAGGED_KEPT = 10


def deny_insecure_transport(bucket: aws.s3.Bucket) -> dict:
    """The statement every bucket policy of the stack starts with: requests over plain HTTP are
    refused (S3 User Guide, "Enforce encryption in transit", aws:SecureTransport)."""
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [bucket.arn, pulumi.Output.concat(bucket.arn, "/*")],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def _ecr_lifecycle_policy(keep_images: int) -> str:
    return json.dumps(
        {
            "rules": [
                {
                    "rulePriority": 1,
                    "description": f"Keep the last {UNTAGGED_KEPT} untagged images",
                    "selection": {
                        "tagStatus": "untagged",
                        "countType": "imageCountMoreThan",
                        "countNumber": UNTAGGED_KEPT,
                    },
                    "action": {"type": "expire"},
                },
                {
                    "rulePriority": 2,
                    "description": f"Keep the last {keep_images} tagged images",
                    "selection": {
                        "tagStatus": "tagged",
                        "tagPatternList": ["*"],
                        "countType": "imageCountMoreThan",
                        "countNumber": keep_images,
                    },
                    "action": {"type": "expire"},
                },
            ]
        }
    )


class Storage(pulumi.ComponentResource):
    """An ECR repository per service and the ALB access-log bucket."""

    repository_urls: dict[str, pulumi.Output[str]]
    """Per service, the URL of its ECR repository ``<name_prefix>-<service>``."""
    repository_arns: dict[str, pulumi.Output[str]]
    """Per service, the repository's ARN."""
    access_log_bucket_name: pulumi.Output[str]
    """Bucket ``<name_prefix>-alb-logs-<account>``, read from the bucket policy: whoever takes the
    name (the ALB) is created only once ELB may write, as ELB checks its access to the bucket
    when access logging is turned on."""
    access_log_bucket_arn: pulumi.Output[str]
    """ARN of the access-log bucket."""
    access_log_prefix: str
    """``"alb"``, the prefix the ALB must log under."""

    def __init__(self, name: str, args: StorageArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:storage:Storage", name, None, opts)
        settings = args.settings
        region = args.region
        child = pulumi.ResourceOptions(parent=self)
        invoke = pulumi.InvokeOutputOptions(parent=self)
        account_id = aws.get_caller_identity_output(opts=invoke).account_id

        # -- ECR ---------------------------------------------------------------------------------
        repositories = {
            service: self._repository(f"{name}-{service}", f"{args.name_prefix}-{service}", args)
            for service in args.repositories
        }

        # -- ALB access-log bucket -----------------------------------------------------------------
        # A readable, deterministic name: the account id makes it globally unique without a
        # random suffix, and operators (and Athena tables) can find it by name.
        bucket = aws.s3.Bucket(
            f"{name}-alb-logs",
            bucket=pulumi.Output.concat(args.name_prefix, "-alb-logs-", account_id),
            force_destroy=settings.force_destroy_buckets,
            region=region,
            opts=child,
        )
        public_access_block = aws.s3.BucketPublicAccessBlock(
            f"{name}-alb-logs-public-access",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            region=region,
            opts=child,
        )
        aws.s3.BucketOwnershipControls(
            f"{name}-alb-logs-ownership",
            bucket=bucket.id,
            rule={"object_ownership": "BucketOwnerEnforced"},
            region=region,
            opts=child,
        )
        # ALB access logs support only SSE-S3, not SSE-KMS.
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-alb-logs-encryption",
            bucket=bucket.id,
            rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}],
            region=region,
            opts=child,
        )
        # No versioning: ELB writes each log object once and never overwrites it, so versions
        # would only keep copies past the retention the lifecycle rule enforces. The noncurrent
        # rule still cleans up should someone turn versioning on.
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-alb-logs-lifecycle",
            bucket=bucket.id,
            rules=[
                {
                    "id": "expire-access-logs",
                    "status": "Enabled",
                    "filter": {},
                    "expiration": {"days": settings.access_log_expiry_days},
                    "noncurrent_version_expiration": {"noncurrent_days": 1},
                    "abort_incomplete_multipart_upload": {"days_after_initiation": 1},
                }
            ],
            region=region,
            opts=child,
        )

        # Regions opened before August 2022 (ap-northeast-1 among them) deliver ALB logs from a
        # per-region ELB account (Tokyo: 582318560864), looked up rather than hard-coded; newer
        # regions use the log-delivery service principal, which is granted too so delivery keeps
        # working if ELB moves this region to it. Both may write only under this account's prefix.
        elb_account_arn = aws.elb.get_service_account_output(region=region, opts=invoke).arn
        log_objects_arn = pulumi.Output.concat(
            bucket.arn, "/", ACCESS_LOG_PREFIX, "/AWSLogs/", account_id, "/*"
        )
        policy = aws.s3.BucketPolicy(
            f"{name}-alb-logs-policy",
            bucket=bucket.id,
            policy=pulumi.Output.json_dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        deny_insecure_transport(bucket),
                        {
                            "Sid": "ElbAccountDeliversAccessLogs",
                            "Effect": "Allow",
                            "Principal": {"AWS": elb_account_arn},
                            "Action": "s3:PutObject",
                            "Resource": log_objects_arn,
                        },
                        {
                            "Sid": "ElbServiceDeliversAccessLogs",
                            "Effect": "Allow",
                            "Principal": {"Service": ELB_LOG_DELIVERY_SERVICE},
                            "Action": "s3:PutObject",
                            "Resource": log_objects_arn,
                        },
                    ],
                }
            ),
            region=region,
            # S3 rejects concurrent bucket-level configuration changes; apply the policy last.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[public_access_block]),
        )

        publish(
            self,
            repository_urls={service: r.repository_url for service, r in repositories.items()},
            repository_arns={service: r.arn for service, r in repositories.items()},
            access_log_bucket_name=policy.bucket,
            access_log_bucket_arn=bucket.arn,
            access_log_prefix=ACCESS_LOG_PREFIX,
        )

    def _repository(self, name: str, repository_name: str, args: StorageArgs) -> aws.ecr.Repository:
        """A repository with the stack's tag rule, scanning on push and the lifecycle policy."""
        child = pulumi.ResourceOptions(parent=self)
        repository = aws.ecr.Repository(
            name,
            name=repository_name,
            image_tag_mutability="IMMUTABLE" if args.settings.ecr_immutable_tags else "MUTABLE",
            image_scanning_configuration={"scan_on_push": True},
            # AES256: images hold no secrets (those come from SSM at start-up); a KMS key would
            # add a KMS request per layer pull and tie every image to the key's lifetime, and a
            # repository's encryption can never be changed afterwards.
            encryption_configurations=[{"encryption_type": "AES256"}],
            force_delete=False,
            region=args.region,
            opts=child,
        )
        aws.ecr.LifecyclePolicy(
            f"{name}-lifecycle",
            repository=repository.name,
            policy=_ecr_lifecycle_policy(args.settings.ecr_keep_images),
            region=args.region,
            opts=child,
        )
        return repository
