package lake

import (
	"context"
	"fmt"
	"io"
	"net/url"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/catalog/rest"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
)

// RESTConfig is how lagoon reaches an Iceberg REST catalog as catalogs are
// run: a bearer token (Polaris, Lakekeeper, Unity), OAuth2 client
// credentials exchanged for a token, or AWS SigV4 signing (S3 Tables,
// Glue's Iceberg endpoint), and the warehouse to ask for.
type RESTConfig struct {
	// Token is sent as "Authorization: Bearer <token>".
	Token string
	// Credential is "client_id:client_secret" for the OAuth2 client
	// credentials flow, at OAuthURI (default: the catalog's
	// v1/oauth/tokens), with Scope (default: the catalog's).
	Credential string
	OAuthURI   string
	Scope      string
	// SigV4 signs every request with the AWS credentials of the standard
	// chain, for SigningName (default "execute-api"; "glue" for Glue,
	// "s3tables" for S3 Tables) in SigningRegion (default: the chain's).
	SigV4         bool
	SigningRegion string
	SigningName   string
	// Warehouse is sent as the warehouse parameter (an S3 Tables bucket
	// ARN, a Polaris catalog name, a Glue account id, …).
	Warehouse string
}

// openREST opens the REST catalog at uri.
func openREST(ctx context.Context, uri string, rc RESTConfig, awsCfg *aws.Config, props iceberg.Properties) (catalog.Catalog, io.Closer, error) {
	opts := []rest.Option{rest.WithAdditionalProps(props)}
	switch {
	case rc.Token != "":
		opts = append(opts, rest.WithOAuthToken(rc.Token))
	case rc.Credential != "":
		opts = append(opts, rest.WithCredential(rc.Credential))
	}
	if rc.OAuthURI != "" {
		u, err := url.Parse(rc.OAuthURI)
		if err != nil {
			return nil, nil, fmt.Errorf("catalog rest: oauth uri: %w", err)
		}
		opts = append(opts, rest.WithAuthURI(u))
	}
	if rc.Scope != "" {
		opts = append(opts, rest.WithScope(rc.Scope))
	}
	if rc.Warehouse != "" {
		opts = append(opts, rest.WithWarehouseLocation(rc.Warehouse))
	}
	if rc.SigV4 {
		sig, err := sigV4Options(ctx, rc, awsCfg)
		if err != nil {
			return nil, nil, err
		}
		opts = append(opts, sig...)
	}
	cat, err := rest.NewCatalog(ctx, CatalogName, uri, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("catalog rest %s: %w", Redact(uri), err)
	}
	return cat, io.NopCloser(nil), nil
}

func sigV4Options(ctx context.Context, rc RESTConfig, awsCfg *aws.Config) ([]rest.Option, error) {
	if awsCfg == nil {
		c, err := awsconfig.LoadDefaultConfig(ctx)
		if err != nil {
			return nil, fmt.Errorf("catalog rest: sigv4: aws configuration: %w", err)
		}
		awsCfg = &c
	}
	region := rc.SigningRegion
	if region == "" {
		region = awsCfg.Region
	}
	name := rc.SigningName
	if name == "" {
		name = "execute-api"
	}
	return []rest.Option{rest.WithAwsConfig(*awsCfg), rest.WithSigV4RegionSvc(region, name)}, nil
}
