package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	internalapi "k8s.io/cri-api/pkg/apis"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	"k8s.io/cri-client/pkg/logs"
)

// containerLogs holds one CRI-format log file per container, {namespace}_{pod}_{container}.log in dir,
// each created on first use with the seed lines. What a container's main process prints (what is
// written to its attached stdin) is appended to it.
type containerLogs struct {
	dir  string
	seed []byte
	mu   sync.Mutex // one append at a time, so records never interleave
}

// path is the container's log file, created with the seed lines if it does not exist yet.
func (l *containerLogs) path(namespace, pod, container string) (string, error) {
	path := filepath.Join(l.dir, namespace+"_"+pod+"_"+container+".log")
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		return path, err
	}
	// Atomically: the seed is written to a temporary file, then linked to the log's name; a
	// concurrent first use loses the race with ErrExist and uses the winner's file.
	tmp, err := os.CreateTemp(l.dir, ".seed-*")
	if err != nil {
		return "", err
	}
	defer func() { _ = os.Remove(tmp.Name()) }()
	_, err = tmp.Write(l.seed)
	if closeErr := tmp.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		return "", err
	}
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", err
	}
	return path, nil
}

// appendStdout appends data to the log file at path as the container's stdout, as a container runtime
// writes it: a full (F) record for each line, a partial (P) record for what follows the last newline.
func (l *containerLogs) appendStdout(path string, data []byte) error {
	now := time.Now().UTC().Format(logs.RFC3339NanoFixed)
	var records bytes.Buffer
	for len(data) > 0 {
		line, rest, full := bytes.Cut(data, []byte{'\n'})
		tag := runtimeapi.LogTagPartial
		if full {
			tag = runtimeapi.LogTagFull
		}
		fmt.Fprintf(&records, "%s %s %s %s\n", now, runtimeapi.Stdout, tag, line)
		data = rest
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	_, err = f.Write(records.Bytes())
	if closeErr := f.Close(); err == nil {
		err = closeErr
	}
	return err
}

// serveContainerLogs serves GET /containerLogs/{ns}/{pod}/{container} as the kubelet's getContainerLogs
// does (pkg/kubelet/server/server.go): the same query parameters and errors, then the container's
// log file read by the kubelet's own log reader (k8s.io/cri-client/pkg/logs).
func serveContainerLogs(w http.ResponseWriter, r *http.Request, l *containerLogs) {
	query := r.URL.Query()
	if tail := query.Get("tail"); tail != "" { // the kubelet's backwards compatibility for "tail"
		query["tailLines"] = []string{tail}
		if tail == "all" {
			delete(query, "tailLines")
		}
	}
	opts, err := decodePodLogOptions(query)
	if err != nil {
		writeError(w, http.StatusBadRequest, `{"message": "Unable to decode query."}`)
		return
	}
	if !validPodLogOptions(opts) {
		writeError(w, http.StatusUnprocessableEntity, `{"message": "Invalid request."}`)
		return
	}
	namespace, pod, container := r.PathValue("ns"), r.PathValue("pod"), r.PathValue("container")
	if opts.Stream != nil && *opts.Stream != corev1.LogStreamAll { // PodLogsQuerySplitStreams is off (alpha)
		writeError(w, http.StatusBadRequest, fmt.Sprintf("unable to return the given log stream: %q. Please "+
			"enable PodLogsQuerySplitStreams feature gate in kubelet", *opts.Stream))
		return
	}
	if opts.Previous { // no container on these nodes ever restarts: none has a previous instance
		writeError(w, http.StatusBadRequest,
			fmt.Sprintf("previous terminated container %q in pod %q not found", container, pod))
		return
	}
	path, err := l.path(namespace, pod, container)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	flusher, _ := w.(http.Flusher) // net/http's response writers are
	out := flushWriter{w: w, flusher: flusher}
	w.Header().Set("Transfer-Encoding", "chunked")
	if _, err := out.Write([]byte{}); err != nil { // as the kubelet: the answer starts before the first line
		return
	}
	if err := logs.ReadLogs(r.Context(), path, namespace+"/"+pod+"/"+container, readOptions(opts, time.Now()),
		runningContainers{}, out, out); err != nil {
		writeError(w, http.StatusBadRequest, err.Error()) // as the kubelet: after a partial log, the error text
	}
}

// decodePodLogOptions decodes the query as the kubelet's parameter codec does for v1.PodLogOptions: the
// generated conversion from url.Values, with the same conversion function for each field.
func decodePodLogOptions(query url.Values) (*corev1.PodLogOptions, error) {
	opts := &corev1.PodLogOptions{}
	bools := map[string]*bool{"follow": &opts.Follow, "previous": &opts.Previous, "timestamps": &opts.Timestamps,
		"insecureSkipTLSVerifyBackend": &opts.InsecureSkipTLSVerifyBackend}
	for name, field := range bools {
		if values := query[name]; len(values) > 0 {
			if err := runtime.Convert_Slice_string_To_bool(&values, field, nil); err != nil {
				return nil, err
			}
		}
	}
	ints := map[string]**int64{"sinceSeconds": &opts.SinceSeconds, "tailLines": &opts.TailLines,
		"limitBytes": &opts.LimitBytes}
	for name, field := range ints {
		if values := query[name]; len(values) > 0 {
			if err := runtime.Convert_Slice_string_To_Pointer_int64(&values, field, nil); err != nil {
				return nil, err
			}
		}
	}
	if values := query["sinceTime"]; len(values) > 0 {
		if err := metav1.Convert_Slice_string_To_Pointer_v1_Time(&values, &opts.SinceTime, nil); err != nil {
			return nil, err
		}
	}
	if values := query["container"]; len(values) > 0 {
		opts.Container = values[0]
	}
	if values := query["stream"]; len(values) > 0 {
		opts.Stream = &values[0]
	}
	return opts, nil
}

// validPodLogOptions is the kubelet's validation of v1.PodLogOptions (pkg/apis/core/v1/validation).
func validPodLogOptions(opts *corev1.PodLogOptions) bool {
	switch {
	case opts.TailLines != nil && *opts.TailLines < 0,
		opts.LimitBytes != nil && *opts.LimitBytes < 1,
		opts.SinceSeconds != nil && opts.SinceTime != nil,
		opts.SinceSeconds != nil && *opts.SinceSeconds < 1:
		return false
	case opts.Stream == nil:
		return true
	}
	stream := *opts.Stream
	valid := stream == corev1.LogStreamStdout || stream == corev1.LogStreamStderr || stream == corev1.LogStreamAll
	return valid && (stream == corev1.LogStreamAll || opts.TailLines == nil)
}

// readOptions turns the request's options into the log reader's, as the kubelet's runtime manager does
// (pkg/kubelet/kuberuntime/kuberuntime_logs.go).
func readOptions(opts *corev1.PodLogOptions, now time.Time) *logs.LogOptions {
	read := &logs.LogOptions{TailLines: opts.TailLines, LimitBytes: opts.LimitBytes, Follow: opts.Follow,
		Timestamp: opts.Timestamps}
	if opts.SinceSeconds != nil {
		read.Since = now.Add(-time.Duration(*opts.SinceSeconds) * time.Second)
	}
	if opts.SinceTime != nil && opts.SinceTime.After(read.Since) {
		read.Since = opts.SinceTime.Time
	}
	return read
}

// writeError answers as go-restful's WriteError does for the kubelet: the status and the message as the body.
func writeError(w http.ResponseWriter, status int, message string) {
	w.WriteHeader(status)
	_, _ = io.WriteString(w, message)
}

// flushWriter sends every write to the client at once, so a followed log streams as it grows.
type flushWriter struct {
	w       io.Writer
	flusher http.Flusher
}

func (f flushWriter) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	if err == nil && f.flusher != nil {
		f.flusher.Flush()
	}
	return n, err
}

// runningContainers is the container runtime as the log reader asks it while following: every
// container is running, so a follow lasts until the client goes away. ReadLogs calls only
// ContainerStatus; the embedded (nil) interface stands for the rest of the CRI, which it never calls.
type runningContainers struct{ internalapi.RuntimeService }

func (runningContainers) ContainerStatus(_ context.Context, id string, _ bool) (*runtimeapi.ContainerStatusResponse,
	error) {
	return &runtimeapi.ContainerStatusResponse{Status: &runtimeapi.ContainerStatus{Id: id,
		State: runtimeapi.ContainerState_CONTAINER_RUNNING}}, nil
}

// followFile writes the CRI-format lines appended to f after its current offset to w, until stop
// (after writing what was appended before stop), the context's end or a failed write.
func followFile(ctx context.Context, f *os.File, w *lockedWriters, stop <-chan struct{}) error {
	reader := &lineReader{f: f}
	ticker := time.NewTicker(pollInterval)
	defer ticker.Stop()
	stopping := false
	for {
		if err := reader.copyLines(w); err != nil {
			return err
		}
		if stopping {
			return nil
		}
		select {
		case <-stop:
			stopping = true // one last read: what was appended until now
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
	}
}

// lineReader reads the complete lines appended to a file, keeping an incomplete last line for later.
type lineReader struct {
	f       *os.File
	partial []byte
}

func (r *lineReader) copyLines(w *lockedWriters) error {
	buf := make([]byte, 32*1024)
	for {
		n, err := r.f.Read(buf)
		r.partial = append(r.partial, buf[:n]...)
		for {
			line, rest, found := bytes.Cut(r.partial, []byte{'\n'})
			if !found {
				break
			}
			if werr := writeLogLine(w, string(line)); werr != nil {
				return werr
			}
			r.partial = append(r.partial[:0], rest...)
		}
		if errors.Is(err, io.EOF) || (err == nil && n == 0) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// writeLogLine writes the content of one CRI log record ("TIME STREAM TAG CONTENT") to its stream.
func writeLogLine(w *lockedWriters, line string) error {
	fields := strings.SplitN(line, " ", 4)
	if len(fields) != 4 {
		return nil // not a CRI log record: nothing a container printed
	}
	content := fields[3]
	if fields[2] == string(runtimeapi.LogTagFull) {
		content += "\n"
	}
	_, err := w.write(fields[1], []byte(content))
	return err
}
