// Command kubelet-streaming is the kubelet API of envtest's kwok nodes: it serves container logs with
// the kubelet's own log reader (k8s.io/cri-client/pkg/logs) and exec, attach and port-forward with the
// kubelet's own streaming library (k8s.io/cri-streaming), as kubelet v1.37 does, and reverse-proxies
// every other kubelet path (healthz, ...) to kwok, which manages the nodes and pods.
//
// Each container has its own CRI-format log file in -log-dir, created on first use with the lines of
// -log-seed. Its main process behaves like `cat` whose stdout is that log: what an attached client
// writes to stdin is appended to the log, and every attached client receives the lines appended to
// the log after it attached; an attach with stdin ends when the client closes stdin.
//
// Exec runs the command on this host in -exec-dir: the command's stdin is closed when the client
// closes its stdin stream, and a non-zero exit is reported as a NonZeroExitCode status with an
// ExitCode cause.
//
// Port-forward to pod port 7 is an echo (what is written comes back); any other pod port connects to
// kwok's own server (the -kwok address). Each forwarded connection ends on its own: cutting one ends
// only that one.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/creack/pty"
	"k8s.io/cri-streaming/pkg/streaming/portforward"
	"k8s.io/cri-streaming/pkg/streaming/remotecommand"
	utilexec "k8s.io/utils/exec"
)

const (
	idleTimeout     = 4 * time.Hour // the kubelet's default streamingConnectionIdleTimeout
	pollInterval    = 100 * time.Millisecond
	commandParam    = "command"
	signalExitCodes = 128 // a command killed by signal N exits 128+N, as container runtimes report it
	echoPort        = 7   // a port-forward to this pod port is an echo
)

func main() {
	address := flag.String("address", "127.0.0.1:10250", "host:port to serve the kubelet API on (TLS)")
	certFile := flag.String("tls-cert-file", "", "serving certificate")
	keyFile := flag.String("tls-private-key-file", "", "serving certificate's key")
	upstream := flag.String("kwok", "", "kwok's kubelet API (http://host:port): every path but containerLogs, exec, "+
		"attach and portForward goes there, and port-forwards to pod ports other than 7 connect to it")
	execDir := flag.String("exec-dir", ".", "working directory of exec'd commands")
	logDir := flag.String("log-dir", "", "the directory of the containers' log files (CRI format), one per container")
	logSeed := flag.String("log-seed", "", "the file (CRI format) every container's log starts with")
	flag.Parse()
	if *certFile == "" || *keyFile == "" || *upstream == "" || *logDir == "" || *logSeed == "" {
		log.Fatal("-tls-cert-file, -tls-private-key-file, -kwok, -log-dir and -log-seed are required")
	}
	seed, err := os.ReadFile(*logSeed)
	if err != nil {
		log.Fatalf("-log-seed: %v", err)
	}
	target, err := url.Parse(*upstream)
	if err != nil {
		log.Fatalf("-kwok: %v", err)
	}
	containers := &containerLogs{dir: *logDir, seed: seed}
	handler := newHandler(target, containers, executor{dir: *execDir}, attacher{logs: containers},
		forwarder{target: target.Host})
	server := &http.Server{
		Addr:              *address,
		Handler:           handler,
		TLSConfig:         &tls.Config{MinVersion: tls.VersionTLS12},
		ReadHeaderTimeout: 30 * time.Second,
	}
	log.Printf("serving the kubelet API on https://%s (containerLogs, exec, attach, portForward; everything else "+
		"from %s)",
		*address, target)
	log.Fatal(server.ListenAndServeTLS(*certFile, *keyFile))
}

// newHandler routes containerLogs to the log reader, exec, attach and portForward (the kubelet's paths,
// with and without the pod UID) to the streaming library and every other path to kwok.
func newHandler(kwok *url.URL, l *containerLogs, e remotecommand.Executor, a remotecommand.Attacher,
	f portforward.PortForwarder) http.Handler {
	proxy := httputil.NewSingleHostReverseProxy(kwok)
	proxy.FlushInterval = -1 // what kwok streams goes on as it comes
	mux := http.NewServeMux()
	mux.Handle("/", proxy)
	mux.HandleFunc("/containerLogs/{ns}/{pod}/{container}", func(w http.ResponseWriter, r *http.Request) {
		serveContainerLogs(w, r, l)
	})
	for _, path := range []string{"/exec/{ns}/{pod}/{container}", "/exec/{ns}/{pod}/{uid}/{container}"} {
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) { serveExec(w, r, e) })
	}
	for _, path := range []string{"/attach/{ns}/{pod}/{container}", "/attach/{ns}/{pod}/{uid}/{container}"} {
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) { serveAttach(w, r, a) })
	}
	for _, path := range []string{"/portForward/{ns}/{pod}", "/portForward/{ns}/{pod}/{uid}"} {
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) { servePortForward(w, r, f) })
	}
	return mux
}

func serveExec(w http.ResponseWriter, r *http.Request, e remotecommand.Executor) {
	opts, err := remotecommand.NewOptions(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	command := r.URL.Query()[commandParam]
	log.Printf("exec %s/%s/%s %q", r.PathValue("ns"), r.PathValue("pod"), r.PathValue("container"), command)
	remotecommand.ServeExec(w, r, e, r.PathValue("ns")+"/"+r.PathValue("pod"), r.PathValue("uid"),
		r.PathValue("container"), command, opts, idleTimeout, remotecommand.DefaultStreamCreationTimeout,
		remotecommand.SupportedStreamingProtocols)
}

func serveAttach(w http.ResponseWriter, r *http.Request, a remotecommand.Attacher) {
	opts, err := remotecommand.NewOptions(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	log.Printf("attach %s/%s/%s", r.PathValue("ns"), r.PathValue("pod"), r.PathValue("container"))
	remotecommand.ServeAttach(w, r, a, r.PathValue("ns")+"/"+r.PathValue("pod"), r.PathValue("uid"),
		r.PathValue("container"), opts, idleTimeout, remotecommand.DefaultStreamCreationTimeout,
		remotecommand.SupportedStreamingProtocols)
}

func servePortForward(w http.ResponseWriter, r *http.Request, f portforward.PortForwarder) {
	opts, err := portforward.NewV4Options(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	log.Printf("portForward %s/%s", r.PathValue("ns"), r.PathValue("pod"))
	portforward.ServePortForward(w, r, f, r.PathValue("ns")+"/"+r.PathValue("pod"), r.PathValue("uid"), opts,
		idleTimeout, remotecommand.DefaultStreamCreationTimeout, portforward.SupportedProtocols)
}

// forwarder forwards a pod port: echoPort echoes, any other port connects to target (host:port).
type forwarder struct{ target string }

func (f forwarder) PortForward(ctx context.Context, pod, _ string, port int32, stream io.ReadWriteCloser) error {
	if port == echoPort {
		_, err := io.Copy(stream, stream)
		return err
	}
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", f.target)
	if err != nil {
		return fmt.Errorf("port %d of %s: %w", port, pod, err)
	}
	defer func() { _ = conn.Close() }()
	go func() { // the client's end of its data stream half-closes the connection; a cut closes it
		if _, err := io.Copy(conn, stream); err != nil {
			_ = conn.Close()
			return
		}
		_ = conn.(*net.TCPConn).CloseWrite()
	}()
	_, err = io.Copy(stream, conn)
	return err
}

// executor runs exec'd commands on this host.
type executor struct{ dir string }

func (e executor) ExecInContainer(_ context.Context, _, _, _ string, cmd []string, in io.Reader,
	out, errOut io.WriteCloser, tty bool, resize <-chan remotecommand.TerminalSize, _ time.Duration) error {
	if len(cmd) == 0 {
		return errors.New("no command given")
	}
	c := exec.Command(cmd[0], cmd[1:]...)
	c.Dir = e.dir
	if tty {
		return exitStatus(runWithTTY(c, in, out, resize))
	}
	c.Stdout, c.Stderr = out, errOut // nil (not requested): /dev/null
	var stdin io.WriteCloser
	if in != nil {
		pipe, err := c.StdinPipe()
		if err != nil {
			return err
		}
		stdin = pipe
	}
	if err := c.Start(); err != nil {
		return err
	}
	if stdin != nil {
		go func() { // the client's stdin EOF (or its connection's end) closes the command's stdin
			_, _ = io.Copy(stdin, in)
			_ = stdin.Close()
		}()
	}
	return exitStatus(c.Wait())
}

// runWithTTY runs c on a new pseudo-terminal: in goes to it, everything it prints to out.
func runWithTTY(c *exec.Cmd, in io.Reader, out io.Writer, resize <-chan remotecommand.TerminalSize) error {
	terminal, err := pty.Start(c)
	if err != nil {
		return err
	}
	defer func() { _ = terminal.Close() }()
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			select {
			case size, ok := <-resize:
				if !ok {
					return
				}
				_ = pty.Setsize(terminal, &pty.Winsize{Rows: size.Height, Cols: size.Width})
			case <-done:
				return
			}
		}
	}()
	if in != nil {
		go func() { _, _ = io.Copy(terminal, in) }()
	}
	copied := make(chan struct{})
	go func() { // ends with EIO once the command and its children closed the terminal
		if out != nil {
			_, _ = io.Copy(out, terminal)
		} else {
			_, _ = io.Copy(io.Discard, terminal)
		}
		close(copied)
	}()
	err = c.Wait()
	<-copied
	return err
}

// exitStatus turns a command's exit into the error the streaming library reports as a
// NonZeroExitCode status: exit code N, or 128+N for signal N.
func exitStatus(err error) error {
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) {
		return err
	}
	code := exitErr.ExitCode()
	if status, ok := exitErr.Sys().(syscall.WaitStatus); ok && status.Signaled() {
		code = signalExitCodes + int(status.Signal())
	}
	return utilexec.CodeExitError{Err: err, Code: code}
}

// attacher attaches to a container whose main process behaves like `cat` printing into the container's
// log: what is written to stdin is appended to the log as stdout, and the lines appended to the log
// after attaching stream to the client.
type attacher struct{ logs *containerLogs }

func (a attacher) AttachContainer(ctx context.Context, podName, _, container string, in io.Reader,
	out, errOut io.WriteCloser, tty bool, _ <-chan remotecommand.TerminalSize) error {
	namespace, pod, _ := strings.Cut(podName, "/")
	path, err := a.logs.path(namespace, pod, container)
	if err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	if _, err := f.Seek(0, io.SeekEnd); err != nil { // from here on, before stdin is read
		return err
	}
	if tty {
		errOut = out
	}
	w := &lockedWriters{out: out, errOut: errOut}
	stop := make(chan struct{})
	followed := make(chan error, 1)
	go func() { followed <- followFile(ctx, f, w, stop) }()
	if in == nil {
		return <-followed // until the client goes away (a write fails)
	}
	_, err = io.Copy(writerFunc(func(p []byte) (int, error) { return len(p), a.logs.appendStdout(path, p) }), in)
	close(stop) // the follower still sends what was appended until now, this client's input included
	if ferr := <-followed; ferr != nil && err == nil {
		err = ferr
	}
	return err
}

// lockedWriters serialises writes to the attached client's stdout and stderr.
type lockedWriters struct {
	mu          sync.Mutex
	out, errOut io.Writer
}

func (w *lockedWriters) write(stream string, p []byte) (int, error) {
	target := w.out
	if stream == "stderr" {
		target = w.errOut
	}
	if target == nil {
		return len(p), nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	n, err := target.Write(p)
	if err != nil {
		return n, fmt.Errorf("writing to the attached client: %w", err)
	}
	return n, nil
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
