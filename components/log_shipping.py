"""Logs to Datadog: CloudWatch Logs subscription filters into Amazon Data Firehose streams that
deliver to Datadog's HTTP intake. CloudWatch Logs stays the system of record.

Why this path (and not FireLens or the Datadog Forwarder): a subscription filter copies what is
already in CloudWatch, so CloudWatch keeps every line at its own retention whatever happens
downstream; no container changes (no log router sidecar, no second copy of the agent's config);
nothing of ours runs (no Lambda to patch and pay for); and Firehose reads the Datadog API key from
Secrets Manager at delivery time (``secrets_manager_configuration``), so the key never appears in
a task definition, a Firehose configuration or the state in plain. Failed deliveries land in an
encrypted S3 bucket that expires them.

One stream per log source (``LogSource``), each with the Datadog tags of its source: Firehose has
no hourly fee (it bills per GB ingested), so separate streams cost nothing and keep ``service`` and
``source`` right without Datadog-side pipelines.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.outputs import publish
from components.storage import deny_insecure_transport

# Datadog's Firehose log intake per site: AWS CDK's DatadogEndpoint table
# (aws-cdk-lib/aws-kinesisfirehose/lib/destinations/datadog.ts, LOGS_*) and Datadog's guide
# docs.datadoghq.com/logs/guide/send-aws-services-logs-with-the-datadog-kinesis-firehose-destination/
# ("choose the Datadog logs HTTP endpoint URL that corresponds to your Datadog site").
DATADOG_FIREHOSE_LOG_INTAKE: dict[str, str] = {
    "datadoghq.com": "https://aws-kinesis-http-intake.logs.datadoghq.com/v1/input",
    "us3.datadoghq.com": "https://aws-kinesis-http-intake.logs.us3.datadoghq.com/api/v2/logs?dd-protocol=aws-kinesis-firehose",
    "us5.datadoghq.com": "https://aws-kinesis-http-intake.logs.us5.datadoghq.com/api/v2/logs?dd-protocol=aws-kinesis-firehose",
    "ap1.datadoghq.com": "https://aws-kinesis-http-intake.logs.ap1.datadoghq.com/api/v2/logs?dd-protocol=aws-kinesis-firehose",
    "ap2.datadoghq.com": "https://aws-kinesis-http-intake.logs.ap2.datadoghq.com/api/v2/logs?dd-protocol=aws-kinesis-firehose",
    "datadoghq.eu": "https://aws-kinesis-http-intake.logs.datadoghq.eu/v1/input",
}

# Datadog advises 2 MiB buffers for single-line log messages (the guide above); 60 s keeps logs
# near real time. Both are set explicitly, so the provider's defaults (5 MiB, 300 s,
# internal/service/firehose/delivery_stream.go) never show as a change.
BUFFER_MIB = 2
BUFFER_SECONDS = 60
# Firehose retries a failed delivery this long before the batch goes to the S3 backup.
RETRY_SECONDS = 300
# Failed batches are kept this long in the backup bucket for a manual replay, then expire.
BACKUP_EXPIRY_DAYS = 14
FIREHOSE_ERROR_STREAM = "DestinationDelivery"


@dataclass(frozen=True)
class LogSource:
    """Log groups shipped through one Firehose stream, with the Datadog tags of their lines."""

    log_group_names: Sequence[pulumi.Input[str]]
    """CloudWatch log groups subscribed to the stream (same region as the stream)."""
    service: str
    """Datadog ``service`` tag, e.g. ``api``."""
    source: str
    """Datadog ``source`` tag (selects Datadog's integration pipeline), e.g. ``nodejs``."""
    filter_pattern: str = ""
    """CloudWatch Logs filter pattern: only matching events leave CloudWatch ("" = every event)."""


@dataclass(frozen=True)
class LogShippingArgs:
    """Inputs of :class:`LogShipping`."""

    name_prefix: str
    """Physical-name prefix, e.g. ``platform-prod-commercial``."""
    region: str
    """The stack's region: streams, subscriptions and the backup bucket live there."""
    site: str
    """Datadog site, e.g. ``ap1.datadoghq.com`` (a key of ``DATADOG_FIREHOSE_LOG_INTAKE``)."""
    api_key: pulumi.Input[str]
    """The Datadog API key (a Pulumi secret); stored only in the Secrets Manager secret."""
    env: str
    """Datadog ``env`` tag, the stack name."""
    kms_key_arn: pulumi.Input[str]
    """The stack key: encrypts the secret, the backup bucket and Firehose's error log group."""
    sources: Mapping[str, LogSource]
    """Source name (``api``, ``database``) -> what it ships."""
    log_retention_days: int = 90
    """Retention of Firehose's own delivery-error log group."""
    force_destroy_bucket: bool = False
    """Let ``pulumi destroy`` delete a non-empty backup bucket (staging only)."""


class LogShipping(pulumi.ComponentResource):
    """Subscription filters -> Firehose -> Datadog, with an S3 backup of what Datadog refused."""

    stream_arns: dict[str, pulumi.Output[str]]
    """Source -> Firehose stream ARN."""
    secret_arn: pulumi.Output[str]
    """The Secrets Manager secret Firehose reads the API key from."""
    backup_bucket_name: pulumi.Output[str]
    """The bucket of failed deliveries."""

    def __init__(self, name: str, args: LogShippingArgs, opts: pulumi.ResourceOptions | None = None):
        if args.site not in DATADOG_FIREHOSE_LOG_INTAKE:
            raise ValueError(f"no Firehose log intake known for Datadog site {args.site!r}")
        if not args.sources:
            raise ValueError("LogShipping needs at least one log source")
        super().__init__("platform:log_shipping:LogShipping", name, None, opts)
        self._name = name
        self._args = args
        self._child = pulumi.ResourceOptions(parent=self)
        invoke = pulumi.InvokeOutputOptions(parent=self)
        self._account_id = aws.get_caller_identity_output(opts=invoke).account_id

        secret = self._api_key_secret()
        bucket = self._backup_bucket()
        error_logs = self._error_log_group()
        firehose_role = self._firehose_role(secret, bucket, error_logs)
        streams = {
            source: self._stream(source, log_source, firehose_role, secret, bucket, error_logs)
            for source, log_source in args.sources.items()
        }
        logs_role, logs_policy = self._subscription_role(streams)
        self._subscriptions(streams, logs_role, logs_policy)

        publish(
            self,
            stream_arns={source: stream.arn for source, stream in streams.items()},
            secret_arn=secret.arn,
            backup_bucket_name=bucket.bucket,
        )

    # -- steps -----------------------------------------------------------------------------

    def _api_key_secret(self) -> aws.secretsmanager.Secret:
        """The API key in the JSON shape Firehose reads for Datadog, ``{"api_key": ...}``
        (docs.aws.amazon.com/firehose/latest/dev/secrets-manager-whats-secret.html)."""
        args = self._args
        secret = aws.secretsmanager.Secret(
            f"{self._name}-datadog-api-key",
            # A prefix, not a name: a deleted secret keeps its name for the recovery window (7-30
            # days, DeleteSecret), so a replacement or a re-created stack would clash with it.
            name_prefix=f"{args.name_prefix}/datadog-logs-api-key-",
            description="Datadog API key Firehose sends logs with (the datadog:apiKey stack secret)",
            kms_key_id=args.kms_key_arn,
            opts=self._child,
        )
        aws.secretsmanager.SecretVersion(
            f"{self._name}-datadog-api-key-value",
            secret_id=secret.id,
            secret_string=pulumi.Output.secret(
                pulumi.Output.from_input(args.api_key).apply(lambda key: json.dumps({"api_key": key}))
            ),
            opts=self._child,
        )
        return secret

    def _backup_bucket(self) -> aws.s3.Bucket:
        """Private, TLS-only, KMS-encrypted, expiring: what Datadog did not accept."""
        args = self._args
        name = f"{self._name}-backup"
        bucket = aws.s3.Bucket(
            name,
            bucket=pulumi.Output.concat(args.name_prefix, "-log-backup-", self._account_id),
            force_destroy=args.force_destroy_bucket,
            region=args.region,
            opts=self._child,
        )
        public_access_block = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            region=args.region,
            opts=self._child,
        )
        aws.s3.BucketOwnershipControls(
            f"{name}-ownership",
            bucket=bucket.id,
            rule={"object_ownership": "BucketOwnerEnforced"},
            region=args.region,
            opts=self._child,
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=bucket.id,
            rules=[
                {
                    "apply_server_side_encryption_by_default": {
                        "sse_algorithm": "aws:kms",
                        "kms_master_key_id": args.kms_key_arn,
                    },
                    # One KMS data key per bucket and period instead of one per object.
                    "bucket_key_enabled": True,
                }
            ],
            region=args.region,
            opts=self._child,
        )
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle",
            bucket=bucket.id,
            rules=[
                {
                    "id": "expire-failed-deliveries",
                    "status": "Enabled",
                    "filter": {},
                    "expiration": {"days": BACKUP_EXPIRY_DAYS},
                    "noncurrent_version_expiration": {"noncurrent_days": 1},
                    "abort_incomplete_multipart_upload": {"days_after_initiation": 1},
                }
            ],
            region=args.region,
            opts=self._child,
        )
        aws.s3.BucketPolicy(
            f"{name}-policy",
            bucket=bucket.id,
            policy=pulumi.Output.json_dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [deny_insecure_transport(bucket)],
                }
            ),
            region=args.region,
            # S3 rejects concurrent bucket-level configuration changes; apply the policy last.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[public_access_block]),
        )
        return bucket

    def _error_log_group(self) -> aws.cloudwatch.LogGroup:
        """Firehose's own delivery errors (e.g. Datadog answering 403 to a revoked key). Never
        subscribed itself, so a delivery failure cannot feed the stream that fails."""
        args = self._args
        group = aws.cloudwatch.LogGroup(
            f"{self._name}-firehose-errors",
            name=f"/aws/kinesisfirehose/{args.name_prefix}-datadog",
            retention_in_days=args.log_retention_days,
            kms_key_id=args.kms_key_arn,
            opts=self._child,
        )
        aws.cloudwatch.LogStream(
            f"{self._name}-firehose-errors-stream",
            name=FIREHOSE_ERROR_STREAM,
            log_group_name=group.name,
            opts=self._child,
        )
        return group

    def _firehose_role(
        self,
        secret: aws.secretsmanager.Secret,
        bucket: aws.s3.Bucket,
        error_logs: aws.cloudwatch.LogGroup,
    ) -> aws.iam.Role:
        """Assumed by Firehose: write the backup bucket, read the API key, log its errors. The
        trust is limited to Firehose acting for this account (sts:ExternalId is the account id,
        as docs.aws.amazon.com/firehose/latest/dev/controlling-access.html documents)."""
        args = self._args
        region = args.region
        role = aws.iam.Role(
            f"{self._name}-firehose-role",
            name=f"{args.name_prefix}-firehose-datadog",
            description="Firehose: deliver the stack's logs to Datadog, back up failures to S3",
            assume_role_policy=pulumi.Output.json_dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "firehose.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                            "Condition": {"StringEquals": {"sts:ExternalId": self._account_id}},
                        }
                    ],
                }
            ),
            opts=self._child,
        )
        aws.iam.RolePolicy(
            f"{self._name}-firehose-policy",
            role=role.name,
            policy=pulumi.Output.json_dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "WriteFailedDeliveriesToTheBackupBucket",
                            "Effect": "Allow",
                            "Action": [
                                "s3:AbortMultipartUpload",
                                "s3:GetBucketLocation",
                                "s3:GetObject",
                                "s3:ListBucket",
                                "s3:ListBucketMultipartUploads",
                                "s3:PutObject",
                            ],
                            "Resource": [bucket.arn, pulumi.Output.concat(bucket.arn, "/*")],
                        },
                        {
                            "Sid": "ReadTheDatadogApiKey",
                            "Effect": "Allow",
                            "Action": "secretsmanager:GetSecretValue",
                            "Resource": secret.arn,
                        },
                        {
                            # The secret and the backup objects are encrypted with the stack key;
                            # the key is used only through those two services.
                            "Sid": "UseTheStackKeyThroughSecretsManagerAndS3",
                            "Effect": "Allow",
                            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                            "Resource": args.kms_key_arn,
                            "Condition": {
                                "StringEquals": {
                                    "kms:ViaService": [
                                        f"secretsmanager.{region}.amazonaws.com",
                                        f"s3.{region}.amazonaws.com",
                                    ]
                                }
                            },
                        },
                        {
                            "Sid": "LogDeliveryErrors",
                            "Effect": "Allow",
                            "Action": "logs:PutLogEvents",
                            "Resource": pulumi.Output.concat(error_logs.arn, ":log-stream:*"),
                        },
                    ],
                }
            ),
            opts=self._child,
        )
        return role

    def _stream(
        self,
        source: str,
        log_source: LogSource,
        role: aws.iam.Role,
        secret: aws.secretsmanager.Secret,
        bucket: aws.s3.Bucket,
        error_logs: aws.cloudwatch.LogGroup,
    ) -> aws.kinesis.FirehoseDeliveryStream:
        args = self._args
        logging = {
            "enabled": True,
            "log_group_name": error_logs.name,
            "log_stream_name": FIREHOSE_ERROR_STREAM,
        }
        return aws.kinesis.FirehoseDeliveryStream(
            f"{self._name}-{source}",
            name=f"{args.name_prefix}-{source}-datadog",
            destination="http_endpoint",
            # Buffered records at rest inside Firehose (Direct PUT allows stream encryption).
            server_side_encryption={"enabled": True, "key_type": "AWS_OWNED_CMK"},
            http_endpoint_configuration={
                "url": DATADOG_FIREHOSE_LOG_INTAKE[args.site],
                "name": "Datadog",
                # No access_key: the key is read from Secrets Manager at delivery time. The
                # provider keeps access_key from configuration rather than reading it back
                # (flattenHTTPEndpointDestinationDescription), so leaving it unset stays unset.
                # `enabled` forces a new stream when it changes (delivery_stream.go,
                # secretsManagerConfigurationSchema): it is always on here.
                "secrets_manager_configuration": {
                    "enabled": True,
                    "secret_arn": secret.arn,
                    "role_arn": role.arn,
                },
                "role_arn": role.arn,
                "buffering_size": BUFFER_MIB,
                "buffering_interval": BUFFER_SECONDS,
                "retry_duration": RETRY_SECONDS,
                "s3_backup_mode": "FailedDataOnly",
                "request_configuration": {
                    "content_encoding": "GZIP",
                    # Datadog attaches Firehose's common attributes to each log as tags (the guide
                    # above, "Parameters, which are attached as tags to your logs").
                    "common_attributes": [
                        {"name": "env", "value": args.env},
                        {"name": "service", "value": log_source.service},
                        {"name": "source", "value": log_source.source},
                    ],
                },
                "cloudwatch_logging_options": logging,
                "s3_configuration": {
                    "role_arn": role.arn,
                    "bucket_arn": bucket.arn,
                    "prefix": f"{source}/",
                    "error_output_prefix": f"{source}-errors/",
                    "kms_key_arn": args.kms_key_arn,
                    "compression_format": "GZIP",
                    "buffering_size": 5,
                    "buffering_interval": 300,
                    "cloudwatch_logging_options": logging,
                },
            },
            opts=self._child,
        )

    def _subscription_role(
        self, streams: Mapping[str, aws.kinesis.FirehoseDeliveryStream]
    ) -> tuple[aws.iam.Role, aws.iam.RolePolicy]:
        """Assumed by CloudWatch Logs to put subscribed events into the streams, for this
        account's log groups only (docs.aws.amazon.com/AmazonCloudWatch/latest/logs/
        SubscriptionFilters.html#FirehoseExample: logs.amazonaws.com with aws:SourceArn)."""
        args = self._args
        role = aws.iam.Role(
            f"{self._name}-subscription-role",
            name=f"{args.name_prefix}-logs-to-firehose",
            description="CloudWatch Logs: put the stack's subscribed log events into its Datadog streams",
            assume_role_policy=pulumi.Output.json_dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "logs.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                            "Condition": {
                                "StringLike": {
                                    "aws:SourceArn": pulumi.Output.concat(
                                        "arn:aws:logs:", args.region, ":", self._account_id, ":*"
                                    )
                                }
                            },
                        }
                    ],
                }
            ),
            opts=self._child,
        )
        policy = aws.iam.RolePolicy(
            f"{self._name}-subscription-policy",
            role=role.name,
            policy=pulumi.Output.json_dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "PutIntoTheDatadogStreams",
                            "Effect": "Allow",
                            "Action": ["firehose:PutRecord", "firehose:PutRecordBatch"],
                            "Resource": [stream.arn for stream in streams.values()],
                        }
                    ],
                }
            ),
            opts=self._child,
        )
        return role, policy

    def _subscriptions(
        self,
        streams: Mapping[str, aws.kinesis.FirehoseDeliveryStream],
        role: aws.iam.Role,
        policy: aws.iam.RolePolicy,
    ) -> None:
        """One filter per log group. Log group, name and destination force a new filter; the
        pattern changes in place (internal/service/logs/subscription_filter.go). PutSubscriptionFilter
        sends a test record, which fails until the role's policy has propagated; the provider
        retries that ("Could not deliver test message") for five minutes."""
        for source, log_source in self._args.sources.items():
            for index, group in enumerate(log_source.log_group_names):
                aws.cloudwatch.LogSubscriptionFilter(
                    f"{self._name}-{source}-{index + 1}",
                    name=f"datadog-{source}",
                    log_group=group,
                    destination_arn=streams[source].arn,
                    role_arn=role.arn,
                    filter_pattern=log_source.filter_pattern,
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
                )
