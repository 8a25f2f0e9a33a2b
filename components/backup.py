"""The pre-commercial backups' S3 bucket and the write-only credentials of the job that fills it."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.outputs import publish
from components.settings import BackupSettings
from components.storage import deny_insecure_transport

ARCHIVE_PREFIX = "backups/"
"""Key prefix of every archive; the job's credentials may write only under it."""
WRITER_ACTIONS = ("s3:PutObject",)
"""All the job may do: PutObject also covers multipart uploads (CreateMultipartUpload, UploadPart,
CompleteMultipartUpload: S3 User Guide, mpuAndPermissions.html). No read, list, delete, retention
or legal-hold action: per-object retention headers need s3:PutObjectRetention, which it lacks."""


@dataclass(frozen=True)
class BackupBucketArgs:
    settings: BackupSettings
    """Retention days and the Object Lock mode."""
    name_prefix: str
    """Physical-name prefix of the stack, e.g. ``platform-prod-precommercial``: the bucket is
    ``<prefix>-backups-<account>``, the job's IAM user ``<prefix>-backup-writer`` (the name the
    stack's deploy role may create users under, bootstrap/github_oidc.py)."""
    region: str
    """AWS region of the bucket."""
    permissions_boundary: pulumi.Input[str]
    """ARN of the stack's permissions boundary; the deploy role creates no IAM user without it."""


def writer_policy(bucket_arn: str) -> dict:
    """The job's identity policy: PutObject under :data:`ARCHIVE_PREFIX`, nothing else."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "WriteArchivesOnly",
                "Effect": "Allow",
                "Action": list(WRITER_ACTIONS),
                "Resource": f"{bucket_arn}/{ARCHIVE_PREFIX}*",
            }
        ],
    }


class BackupBucket(pulumi.ComponentResource):
    """A versioned, Object-Locked, encrypted, private bucket and an IAM user that may only add to it.

    * Object Lock (``settings.lockMode``) holds every archive version for ``retentionDays`` from
      its upload: the writer's key, or anyone short of the lock's bypass, cannot delete or
      overwrite it. Object Lock needs versioning and can only be turned on when the bucket is
      created (``object_lock_enabled`` forces a new bucket: internal/service/s3/bucket.go in
      hashicorp/terraform-provider-aws); the retention itself updates in place
      (bucket_object_lock_configuration.go: only ``bucket``/``expected_bucket_owner``/
      ``object_lock_enabled`` are ForceNew) and applies to archives uploaded afterwards.
    * The lifecycle rule expires an archive the day after its lock ends and removes the expired
      version a day later, so the bucket holds about ``retentionDays`` + 2 days of archives.
    * SSE-S3 (AES256) rather than SSE-KMS: a multipart upload under SSE-KMS needs ``kms:Decrypt``
      as well as ``kms:GenerateDataKey`` (S3 User Guide, UsingKMSEncryption.html, "multipart
      upload"), which would give the write-only key a decrypt right; with SSE-S3 it holds PutObject
      alone, and reading needs s3:GetObject, which only the team's administrators have.
    * The bucket is protected (the engine refuses to delete it) and never force-destroyed.

    The writer is an IAM user with a long-lived access key because Render offers no workload
    identity AWS could trust (no OIDC issuer for services); the key can only add archives, so a
    leak lets someone fill the bucket (bounded by its cost) but not read or remove a backup.
    Rotate it with ``pulumi up --replace <the access key's URN>``: the job's variables follow.
    """

    bucket_name: pulumi.Output[str]
    """The bucket's name, read from its TLS-only policy, so the job is configured only once the
    bucket is complete."""
    bucket_arn: pulumi.Output[str]
    """The bucket's ARN."""
    writer_access_key_id: pulumi.Output[str]
    """The job's access key id (secret)."""
    writer_secret_access_key: pulumi.Output[str]
    """The job's secret access key (secret)."""

    def __init__(self, name: str, args: BackupBucketArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:backup:BackupBucket", name, None, opts)
        self._name, self._region = name, args.region
        bucket = self._bucket(args)
        self._lock_and_expire(bucket, args.settings)
        policy = self._deny_plain_http(bucket)
        key = self._writer(bucket, args)

        publish(
            self,
            bucket_name=policy.bucket,
            bucket_arn=bucket.arn,
            writer_access_key_id=pulumi.Output.secret(key.id),
            writer_secret_access_key=pulumi.Output.secret(key.secret),
        )

    def _opts(self, **kwargs) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, **kwargs)

    def _bucket(self, args: BackupBucketArgs) -> aws.s3.Bucket:
        name, region = self._name, self._region
        account_id = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self)).account_id
        bucket = aws.s3.Bucket(
            f"{name}-bucket",
            bucket=pulumi.Output.concat(args.name_prefix, "-backups-", account_id),
            object_lock_enabled=True,
            force_destroy=False,
            region=region,
            opts=self._opts(protect=True),  # the only copy of the first users' data outside the services
        )
        self._public_access_block = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            region=region,
            opts=self._opts(),
        )
        aws.s3.BucketOwnershipControls(
            f"{name}-ownership",
            bucket=bucket.id,
            rule={"object_ownership": "BucketOwnerEnforced"},
            region=region,
            opts=self._opts(),
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=bucket.id,
            rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}],
            region=region,
            opts=self._opts(),
        )
        return bucket

    def _lock_and_expire(self, bucket: aws.s3.Bucket, settings: BackupSettings) -> None:
        name, region = self._name, self._region
        # A bucket created with Object Lock has versioning on already, and S3 refuses to suspend it
        # (PutBucketVersioning: InvalidBucketState); declaring it keeps that visible and unchanged.
        versioning = aws.s3.BucketVersioning(
            f"{name}-versioning",
            bucket=bucket.id,
            versioning_configuration={"status": "Enabled"},
            region=region,
            opts=self._opts(),
        )
        aws.s3.BucketObjectLockConfiguration(
            f"{name}-object-lock",
            bucket=bucket.id,
            object_lock_enabled="Enabled",
            rule={"default_retention": {"mode": settings.lock_mode.upper(), "days": settings.retention_days}},
            region=region,
            opts=self._opts(depends_on=[versioning]),
        )
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle",
            bucket=bucket.id,
            rules=[
                {
                    # A delete marker the day after the lock ends; the locked version becomes
                    # noncurrent and is removed a day later (lifecycle never removes a version
                    # that is still locked: S3 User Guide, object-lock.html, "lifecycle").
                    "id": "expire-archives",
                    "status": "Enabled",
                    "filter": {"prefix": ARCHIVE_PREFIX},
                    "expiration": {"days": settings.retention_days + 1},
                    "noncurrent_version_expiration": {"noncurrent_days": 1},
                    "abort_incomplete_multipart_upload": {"days_after_initiation": 1},
                },
                {
                    # S3 refuses expired_object_delete_marker beside days in one expiration.
                    "id": "remove-expired-delete-markers",
                    "status": "Enabled",
                    "filter": {"prefix": ARCHIVE_PREFIX},
                    "expiration": {"expired_object_delete_marker": True},
                },
            ],
            region=region,
            opts=self._opts(depends_on=[versioning]),
        )

    def _deny_plain_http(self, bucket: aws.s3.Bucket) -> aws.s3.BucketPolicy:
        return aws.s3.BucketPolicy(
            f"{self._name}-policy",
            bucket=bucket.id,
            policy=pulumi.Output.json_dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [deny_insecure_transport(bucket)],
                }
            ),
            region=self._region,
            # S3 rejects concurrent bucket-level configuration changes; apply the policy last.
            opts=self._opts(depends_on=[self._public_access_block]),
        )

    def _writer(self, bucket: aws.s3.Bucket, args: BackupBucketArgs) -> aws.iam.AccessKey:
        name = self._name
        user = aws.iam.User(
            f"{name}-writer",
            name=f"{args.name_prefix}-backup-writer",
            permissions_boundary=args.permissions_boundary,
            opts=self._opts(),
        )
        aws.iam.UserPolicy(
            f"{name}-writer-policy",
            user=user.name,
            policy=bucket.arn.apply(lambda arn: json.dumps(writer_policy(arn))),
            opts=self._opts(),
        )
        # The secret is returned only by CreateAccessKey; the SDK marks it secret
        # (pulumi_aws/iam/access_key.py: additional_secret_outputs=["secret", ...]).
        return aws.iam.AccessKey(f"{name}-writer-key", user=user.name, opts=self._opts())
