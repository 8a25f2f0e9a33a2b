"""The one region the program names itself."""

# CloudFront's global resources live in US East (N. Virginia), whatever the stack's region: the
# viewer certificate must be requested there (ACM User Guide, "Integrated services": CloudFront),
# a CLOUDFRONT-scope web ACL is managed through that region's endpoint (AWS WAF API Reference,
# Scope), and CloudFront and that web ACL publish their CloudWatch metrics only there, so the
# alarms on them, their topic and their logs' key are there too.
EDGE_REGION = "us-east-1"
