package lake

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// S3 is a Store on an S3 bucket (or any S3-compatible store), under an
// optional prefix. Large objects stream: uploads are multipart, reads are
// ranged.
type S3 struct {
	client *s3.Client
	tm     *transfermanager.Client
	bucket string
	prefix string // "" or "a/b/"
}

var _ Store = (*S3)(nil)

// NewS3 returns a store for root ("s3://bucket[/prefix]") with an AWS
// configuration from the standard chain (credentials, region, and the
// AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_S3 overrides). pathStyle selects
// path-style addressing, which MinIO, moto and others need.
func NewS3(cfg aws.Config, root string, pathStyle bool) (*S3, error) {
	bucket, prefix, err := ParseS3Root(root)
	if err != nil {
		return nil, err
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = pathStyle })
	return &S3{client: client, tm: transfermanager.New(client), bucket: bucket, prefix: prefix}, nil
}

// ParseS3Root splits s3://bucket/prefix into the bucket and "prefix/".
func ParseS3Root(root string) (bucket, prefix string, err error) {
	u, err := url.Parse(root)
	if err != nil || u.Scheme != "s3" || u.Host == "" {
		return "", "", fmt.Errorf("lake root %q: want s3://bucket[/prefix]", root)
	}
	prefix = strings.Trim(u.Path, "/")
	if prefix != "" {
		prefix += "/"
	}
	return u.Host, prefix, nil
}

// Bucket returns the bucket's name.
func (s *S3) Bucket() string { return s.bucket }

// Prefix returns the lake's prefix in the bucket ("" or "a/b/").
func (s *S3) Prefix() string { return s.prefix }

// Client returns the S3 client (for setting up notifications).
func (s *S3) Client() *s3.Client { return s.client }

func (s *S3) full(key string) string { return s.prefix + key }

// URL implements Store.
func (s *S3) URL(key string) string { return "s3://" + s.bucket + "/" + s.full(key) }

// List implements Store.
func (s *S3) List(ctx context.Context, prefix string) iter.Seq2[ObjectInfo, error] {
	return func(yield func(ObjectInfo, error) bool) {
		p := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{Bucket: &s.bucket, Prefix: aws.String(s.full(prefix))})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				yield(ObjectInfo{}, fmt.Errorf("list %s: %w", prefix, err))
				return
			}
			for _, o := range page.Contents {
				info := ObjectInfo{Key: strings.TrimPrefix(aws.ToString(o.Key), s.prefix), Size: aws.ToInt64(o.Size),
					ModTime: aws.ToTime(o.LastModified), Version: aws.ToString(o.ETag)}
				if !yield(info, nil) {
					return
				}
			}
		}
	}
}

// Stat implements Store.
func (s *S3) Stat(ctx context.Context, key string) (ObjectInfo, error) {
	out, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.bucket, Key: aws.String(s.full(key))})
	if err != nil {
		return ObjectInfo{}, s3Err("stat", key, err)
	}
	return ObjectInfo{Key: key, Size: aws.ToInt64(out.ContentLength), ModTime: aws.ToTime(out.LastModified),
		Version: aws.ToString(out.ETag)}, nil
}

// s3Err maps S3's not-found and precondition answers onto ErrNotExist and
// ErrExist.
func s3Err(op, key string, err error) error {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		switch re.HTTPStatusCode() {
		case http.StatusNotFound:
			return fmt.Errorf("%s %s: %w", op, key, ErrNotExist)
		case http.StatusPreconditionFailed, http.StatusConflict:
			return fmt.Errorf("%s %s: %w", op, key, ErrExist)
		}
	}
	var ae smithy.APIError
	if errors.As(err, &ae) && (ae.ErrorCode() == "NoSuchKey" || ae.ErrorCode() == "NotFound") {
		return fmt.Errorf("%s %s: %w", op, key, ErrNotExist)
	}
	return fmt.Errorf("%s %s: %w", op, key, err)
}

// Open implements Store: ranged reads pinned to the object's ETag, so a
// file written again while it is read fails instead of mixing versions.
func (s *S3) Open(ctx context.Context, key string) (Object, error) {
	info, err := s.Stat(ctx, key)
	if err != nil {
		return nil, err
	}
	return &s3Object{ctx: ctx, s: s, key: key, size: info.Size, etag: info.Version}, nil
}

var _ RangeReader = (*s3Object)(nil)

type s3Object struct {
	ctx  context.Context
	s    *S3
	key  string
	size int64
	etag string
	pos  int64
	body io.ReadCloser // the open stream for sequential reads, at pos
}

func (o *s3Object) Size() int64 { return o.size }

func (o *s3Object) get(off, end int64) (io.ReadCloser, error) {
	out, err := o.s.client.GetObject(o.ctx, &s3.GetObjectInput{Bucket: &o.s.bucket, Key: aws.String(o.s.full(o.key)),
		Range: aws.String(fmt.Sprintf("bytes=%d-%d", off, end)), IfMatch: aws.String(o.etag)})
	if err != nil {
		err = s3Err("read", o.key, err)
		if errors.Is(err, ErrNotExist) || errors.Is(err, ErrExist) {
			return nil, &ChangedError{Key: o.key} // gone, or written again, since it was opened
		}
		return nil, err
	}
	return out.Body, nil
}

// ReadAt reads len(p) bytes at off with one ranged GET.
func (o *s3Object) ReadAt(p []byte, off int64) (int, error) {
	if off >= o.size {
		return 0, io.EOF
	}
	end := min(off+int64(len(p)), o.size) - 1
	body, err := o.get(off, end)
	if err != nil {
		return 0, err
	}
	defer body.Close()
	n, err := io.ReadFull(body, p[:end-off+1])
	if err == nil && n < len(p) {
		err = io.EOF
	}
	return n, err
}

// ReadRange streams the n bytes at off with one ranged GET.
func (o *s3Object) ReadRange(off, n int64) (io.ReadCloser, error) {
	if off < 0 || n <= 0 || off+n > o.size {
		return nil, fmt.Errorf("read %s: range %d+%d of %d bytes", o.key, off, n, o.size)
	}
	return o.get(off, off+n-1)
}

// Read streams from the current position, one GET for the rest.
func (o *s3Object) Read(p []byte) (int, error) {
	if o.pos >= o.size {
		return 0, io.EOF
	}
	if o.body == nil {
		body, err := o.get(o.pos, o.size-1)
		if err != nil {
			return 0, err
		}
		o.body = body
	}
	n, err := o.body.Read(p)
	o.pos += int64(n)
	if err == io.EOF && o.pos < o.size {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

func (o *s3Object) Seek(offset int64, whence int) (int64, error) {
	var to int64
	switch whence {
	case io.SeekStart:
		to = offset
	case io.SeekCurrent:
		to = o.pos + offset
	case io.SeekEnd:
		to = o.size + offset
	}
	if to < 0 {
		return 0, fmt.Errorf("seek %s: negative position", o.key)
	}
	if to != o.pos && o.body != nil {
		o.body.Close()
		o.body = nil
	}
	o.pos = to
	return to, nil
}

func (o *s3Object) Close() error {
	if o.body != nil {
		return o.body.Close()
	}
	return nil
}

// Put implements Store. S3 publishes an object whole at the end of its
// upload, so a reader never sees part of it.
func (s *S3) Put(ctx context.Context, key string, r io.Reader) error {
	return s.put(ctx, key, r, false)
}

// PutIfAbsent implements Store with a conditional write (If-None-Match: *).
func (s *S3) PutIfAbsent(ctx context.Context, key string, r io.Reader) error {
	return s.put(ctx, key, r, true)
}

func (s *S3) put(ctx context.Context, key string, r io.Reader, exclusive bool) error {
	body, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	in := &s3.PutObjectInput{Bucket: &s.bucket, Key: aws.String(s.full(key)), Body: bytes.NewReader(body)}
	if exclusive {
		in.IfNoneMatch = aws.String("*")
	}
	if _, err := s.client.PutObject(ctx, in); err != nil {
		return s3Err("put", key, err)
	}
	return nil
}

var _ Swapper = (*S3)(nil)

// PutIfVersion implements Swapper with a conditional write: If-Match on the
// ETag, or If-None-Match: * for version "".
func (s *S3) PutIfVersion(ctx context.Context, key, version string, r io.Reader) (string, error) {
	body, err := io.ReadAll(r)
	if err != nil {
		return "", fmt.Errorf("put %s: %w", key, err)
	}
	in := &s3.PutObjectInput{Bucket: &s.bucket, Key: aws.String(s.full(key)), Body: bytes.NewReader(body)}
	if version == "" {
		in.IfNoneMatch = aws.String("*")
	} else {
		in.IfMatch = aws.String(version)
	}
	out, err := s.client.PutObject(ctx, in)
	if err != nil {
		err = s3Err("put", key, err)
		if errors.Is(err, ErrExist) || errors.Is(err, ErrNotExist) {
			return "", fmt.Errorf("put %s: %w", key, ErrChanged)
		}
		return "", err
	}
	return aws.ToString(out.ETag), nil // as Stat has it
}

// Create implements Store with a streaming multipart upload; the object
// appears when Close completes it.
func (s *S3) Create(ctx context.Context, key string) (Writer, error) {
	pr, pw := io.Pipe()
	w := &s3Writer{pw: pw, done: make(chan error, 1), key: key}
	upCtx, cancel := context.WithCancel(ctx)
	w.cancel = cancel
	go func() {
		_, err := s.tm.UploadObject(upCtx, &transfermanager.UploadObjectInput{Bucket: &s.bucket, Key: aws.String(s.full(key)), Body: pr})
		pr.CloseWithError(err)
		w.done <- err
	}()
	return w, nil
}

type s3Writer struct {
	pw     *io.PipeWriter
	done   chan error
	cancel context.CancelFunc
	key    string
	closed bool
}

func (w *s3Writer) Write(p []byte) (int, error) { return w.pw.Write(p) }

func (w *s3Writer) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	w.pw.Close()
	err := <-w.done
	w.cancel()
	if err != nil {
		return fmt.Errorf("upload %s: %w", w.key, err)
	}
	return nil
}

func (w *s3Writer) Abort() error {
	if w.closed {
		return nil
	}
	w.closed = true
	w.cancel() // the transfer manager aborts the multipart upload
	w.pw.CloseWithError(errors.New("upload aborted"))
	<-w.done
	return nil
}

// Delete implements Store.
func (s *S3) Delete(ctx context.Context, key string) error {
	_, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.bucket, Key: aws.String(s.full(key))})
	if err != nil {
		if err := s3Err("delete", key, err); errors.Is(err, ErrNotExist) {
			return nil
		}
		return s3Err("delete", key, err)
	}
	return nil
}

// Copy implements Store with a server-side copy (S3's single copy takes
// objects up to 5 GB).
func (s *S3) Copy(ctx context.Context, from, to string) error {
	_, err := s.client.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &s.bucket, Key: aws.String(s.full(to)),
		CopySource: aws.String(escapePath(s.bucket + "/" + s.full(from)))})
	if err != nil {
		return s3Err("copy", from, err)
	}
	return nil
}

// Rename implements Store as a copy, then a delete. A crash in between
// leaves both; callers publish through PublishTemp names and intents, which
// make that safe.
func (s *S3) Rename(ctx context.Context, from, to string) error {
	if err := s.Copy(ctx, from, to); err != nil {
		return err
	}
	return s.Delete(ctx, from)
}

// escapePath URL-escapes each segment of a path, keeping the slashes.
func escapePath(p string) string {
	segs := strings.Split(p, "/")
	for i, seg := range segs {
		segs[i] = url.PathEscape(seg)
	}
	return strings.Join(segs, "/")
}
