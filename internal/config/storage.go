package config

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
)

// Storage says where files such as images are kept: the data directory by default, or an
// S3-compatible object store when Endpoint is set, so that many instances share them.
type Storage struct {
	// Endpoint is the object store's URL, scheme and host only, such as
	// https://s3.eu-west-1.amazonaws.com; empty keeps files in the data directory.
	Endpoint string
	Bucket   string
	Region   string

	AccessKeyID     string
	SecretAccessKey string

	// Prefix is put before every key, without a trailing slash; empty for none.
	Prefix string
	// PathStyle is "auto" (the client decides from the host), "true" (bucket in the path)
	// or "false" (bucket in the host name).
	PathStyle string
}

// S3 reports whether files go to an object store rather than the data directory.
func (s Storage) S3() bool { return s.Endpoint != "" }

// setS3Endpoint accepts an http or https URL naming only a host: a bucket or a folder in
// its path, or credentials in it, belong in their own variables.
func setS3Endpoint(c *Config, v string) error {
	c.Storage.Endpoint = ""
	if v == "" {
		return nil
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("must be an http or https URL such as " +
			"https://s3.eu-west-1.amazonaws.com or http://127.0.0.1:9000")
	}
	if u.User != nil {
		return errors.New("must not carry credentials: set S3_ACCESS_KEY_ID and " +
			"S3_SECRET_ACCESS_KEY instead")
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return errors.New("must be a scheme and host only, such as " +
			"https://s3.eu-west-1.amazonaws.com: name the bucket in S3_BUCKET and a folder " +
			"in S3_PREFIX")
	}
	c.Storage.Endpoint = u.Scheme + "://" + u.Host
	return nil
}

// setS3Bucket accepts the bucket names S3 allows: 3 to 63 letters, digits, dots, dashes
// and underscores (legacy buckets), starting and ending with a letter or digit.
func setS3Bucket(c *Config, v string) error {
	c.Storage.Bucket = ""
	if v == "" {
		return nil
	}
	ok := len(v) >= 3 && len(v) <= 63 && isAlnum(v[0]) && isAlnum(v[len(v)-1]) &&
		!strings.Contains(v, "..")
	for i := 0; ok && i < len(v); i++ {
		ok = isAlnum(v[i]) || strings.IndexByte(".-_", v[i]) >= 0
	}
	if !ok {
		return errors.New("must be a bucket name of 3 to 63 letters, digits, dots and " +
			"dashes, such as sketchmaker-images")
	}
	c.Storage.Bucket = v
	return nil
}

func setS3Region(c *Config, v string) error {
	ok := v != "" && len(v) <= 64
	for i := 0; ok && i < len(v); i++ {
		ok = isAlnum(v[i]) || v[i] == '-' || v[i] == '_'
	}
	if !ok {
		return errors.New("must be a region name such as us-east-1 or eu-west-1")
	}
	c.Storage.Region = v
	return nil
}

// setS3Prefix accepts slash-separated folder names of letters, digits, dots, dashes and
// underscores, such as sketchmaker or prod/sketchmaker; a trailing slash is dropped.
func setS3Prefix(c *Config, v string) error {
	c.Storage.Prefix = ""
	v = strings.TrimSuffix(v, "/")
	if v == "" {
		return nil
	}
	ok := len(v) <= 100
	for _, seg := range strings.Split(v, "/") {
		ok = ok && seg != "" && seg != "." && seg != ".."
		for i := 0; ok && i < len(seg); i++ {
			ok = isAlnum(seg[i]) || strings.IndexByte(".-_", seg[i]) >= 0
		}
	}
	if !ok {
		return errors.New("must be folder names of letters, digits, dots, dashes and " +
			"underscores separated by slashes, such as sketchmaker or prod/sketchmaker")
	}
	c.Storage.Prefix = v
	return nil
}

func setS3PathStyle(c *Config, v string) error {
	switch strings.ToLower(v) {
	case "auto", "true", "false":
		c.Storage.PathStyle = strings.ToLower(v)
		return nil
	}
	return fmt.Errorf("must be auto, true or false, not %q", v)
}

func isAlnum(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9'
}

// checkStorage refuses the combinations of S3 settings that cannot work, or that would
// quietly keep files on the local disk of a single instance.
func (c *Config) checkStorage() error {
	s := c.Storage
	if !s.S3() {
		if s.Bucket != "" || s.Prefix != "" || s.AccessKeyID != "" || s.SecretAccessKey != "" {
			return errors.New("S3_BUCKET, S3_PREFIX or an S3 key is set but S3_ENDPOINT " +
				"is empty: set S3_ENDPOINT (such as https://s3.eu-west-1.amazonaws.com) to " +
				"keep files in S3, or unset them to keep files in the data directory")
		}
		return nil
	}
	if s.Bucket == "" {
		return errors.New("S3_BUCKET is required when S3_ENDPOINT is set")
	}
	if s.AccessKeyID == "" || s.SecretAccessKey == "" {
		return errors.New("S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY are both required " +
			"when S3_ENDPOINT is set")
	}
	if c.Production() && strings.HasPrefix(s.Endpoint, "http://") &&
		!localHost(strings.TrimPrefix(s.Endpoint, "http://")) {
		return errors.New("S3_ENDPOINT uses http:// to a public host in production, which " +
			"would send every image unencrypted: use https://, or an http:// endpoint on " +
			"this host, a private address or a single-label name such as http://minio:9000")
	}
	return nil
}

// localHost reports whether hostport names this machine or a private network: a loopback
// or private address, or a single-label name (such as a Docker Compose service) that only
// a local resolver answers.
func localHost(hostport string) bool {
	u := url.URL{Host: hostport}
	h := u.Hostname()
	if ip, err := netip.ParseAddr(h); err == nil {
		ip = ip.Unmap()
		return ip.IsLoopback() || ip.IsPrivate()
	}
	return h == "localhost" || !strings.Contains(h, ".")
}
