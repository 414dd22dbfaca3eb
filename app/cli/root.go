// Package cli is WIM Console's command line: the same engine and use cases
// as the console window, for scripts, for administrators on a terminal, and
// for tests.
//
// Exit codes: 0 success, 1 the operation failed, 2 the command line was wrong
// (unknown command or flag, missing or extra arguments).
package cli

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"runtime/debug"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wimconsole/wimconsole/app"
)

// Exit codes.
const (
	ExitOK      = 0
	ExitFailure = 1
	ExitUsage   = 2
)

// Env is what every command gets: where to write, and the global flags.
type Env struct {
	Stdout io.Writer
	Stderr io.Writer
	// Stdin is what apply - reads (nil: the process's standard input).
	Stdin io.Reader
	// Store is the store root from --store or WIMCONSOLE_STORE ("" means the
	// per-user default, resolved by the command that needs a store).
	Store string
	// Server, Token and Fingerprint are --server, --token (or
	// WIMCONSOLE_TOKEN) and --fingerprint (or WIMCONSOLE_FINGERPRINT): the
	// store commands then act on that server, the others refuse to run
	// (see remote.go).
	Server, Token, Fingerprint string
	// Console opens the console window on a store root; main.go sets it.
	// Without it (tests, or a build without the GUI) the bare command prints
	// help.
	Console func(store string) error
	// Name is the program's name in help and messages ("" means
	// wimconsole); wimconsole-cli, the build without the GUI, sets it.
	Name string
}

// name returns the program's name for help and messages.
func (env *Env) name() string {
	if env.Name == "" {
		return "wimconsole"
	}
	return env.Name
}

// notef prints a note on stderr, after the program's name: something the
// user should know about a command that succeeded.
func (env *Env) notef(format string, args ...any) {
	fmt.Fprintf(env.Stderr, "%s: note: %s\n", env.name(), fmt.Sprintf(format, args...))
}

// A constructor builds one top-level command over env.
type constructor func(env *Env) *cobra.Command

var constructors []constructor

// register adds a top-level command. Files of this package call it from
// init, one call per command, so each command lives in its own file.
func register(c constructor) { constructors = append(constructors, c) }

// UsageError marks a wrong command line (exit code 2).
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// usageErrorf returns a UsageError with a formatted message.
func usageErrorf(format string, args ...any) error {
	return &UsageError{fmt.Errorf(format, args...)}
}

// NewRoot builds the root command with every registered subcommand.
func NewRoot(env *Env) *cobra.Command {
	root := &cobra.Command{
		Use:           env.name(),
		Short:         "Manage Windows deployment images (WIM) and WDS-style image stores",
		Long:          rootLong(env),
		SilenceUsage:  true,
		SilenceErrors: true,
		// Positional arguments are checked by each command; unknown commands
		// are reported by Execute.
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if env.Console == nil {
				return cmd.Help()
			}
			return env.Console(env.Store)
		},
	}
	root.SetOut(env.Stdout)
	root.SetErr(env.Stderr)
	root.PersistentFlags().StringVar(&env.Store, "store", os.Getenv("WIMCONSOLE_STORE"),
		"image store root folder (default: $WIMCONSOLE_STORE, else the per-user store)")
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return &UsageError{err}
	})
	cmds := make([]*cobra.Command, 0, len(constructors))
	for _, c := range constructors {
		cmds = append(cmds, c(env))
	}
	sort.Slice(cmds, func(i, j int) bool { return cmds[i].Name() < cmds[j].Name() })
	for _, c := range cmds {
		c.SilenceUsage = true
		c.SilenceErrors = true
		c.Flags().SortFlags = false
		root.AddCommand(c)
	}
	addServerFlags(env, root)
	wireCompletion(env, root)
	refuseServer(env, root)
	return root
}

// DebugEnv names the environment variable that, when set to anything but
// "" or "0", makes an internal error print its stack.
const DebugEnv = "WIMCONSOLE_DEBUG"

// Execute runs the command line args (without the program name) and returns
// the exit code. Errors are printed to env.Stderr as one line, with a hint
// for usage errors. A panic in a command (a bug, usually on bad input) is
// an internal error: exit 1 with one line that names the command line, and
// so the file it was given, and the stack only under DebugEnv.
func Execute(args []string, env *Env) int {
	return execute(NewRoot(env), args, env)
}

// execute is Execute on a root built by NewRoot.
func execute(root *cobra.Command, args []string, env *Env) (code int) {
	root.SetArgs(args)
	defer func() {
		if v := recover(); v != nil {
			code = env.internalError(args, &app.PanicError{Value: v, Stack: debug.Stack()})
		}
	}()
	cmd, err := root.ExecuteC()
	if err == nil {
		return ExitOK
	}
	// A panic a worker goroutine turned into an error.
	var pe *app.PanicError
	if errors.As(err, &pe) {
		return env.internalError(args, pe)
	}
	msg := err.Error()
	var ue *UsageError
	usage := errors.As(err, &ue) || isCobraUsage(msg)
	if cmd == nil {
		cmd = root
	}
	fmt.Fprintf(env.Stderr, "%s: %s\n", env.name(), firstLine(msg))
	if usage {
		fmt.Fprintf(env.Stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
		return ExitUsage
	}
	return ExitFailure
}

// internalError reports a caught panic and returns ExitFailure.
func (env *Env) internalError(args []string, pe *app.PanicError) int {
	fmt.Fprintf(env.Stderr, "%s: %s (running: %s)", env.name(), firstLine(pe.Error()), strings.Join(args, " "))
	if v := os.Getenv(DebugEnv); v != "" && v != "0" {
		fmt.Fprintf(env.Stderr, "\n%s", pe.Stack)
	} else {
		fmt.Fprintf(env.Stderr, "; set %s=1 to print the stack", DebugEnv)
	}
	fmt.Fprintln(env.Stderr)
	return ExitFailure
}

// rootLong is the root command's help: what the tool is, what running it
// without a command does in this build, and the exit codes.
func rootLong(env *Env) string {
	bare := `Run without a command to open the console window (on the store given by
--store, or $WIMCONSOLE_STORE, or the per-user default store).`
	if env.Console == nil {
		bare = `This build is the command line alone (no console window, no GUI libraries);
wimconsole, the build with the console, runs the same commands.`
	}
	return `WIM Console manages Windows deployment images: WIM files and image stores laid
out as Windows Deployment Services lays out RemoteInstall (image groups with a
shared Res.rwm, boot images, per-image unattend and $OEM$ data).

` + bare + `

Exit codes: 0 success, 1 the operation failed, 2 the command line was wrong.`
}

// isCobraUsage recognises the argument errors cobra returns as plain errors.
func isCobraUsage(msg string) bool {
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand",
		"accepts ", "requires at least", "requires at most", "invalid argument",
		"flag needs an argument", "required flag"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// exactArgs is cobra.ExactArgs with a message that names what is expected.
func exactArgs(n int, what string) cobra.PositionalArgs {
	return rangeArgs(n, n, what)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// rangeArgs is cobra.RangeArgs with a message that names the command (a
// subcommand with its parents: "library list") and what it expects.
func rangeArgs(min, max int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < min || len(args) > max {
			name := strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()+" ")
			return usageErrorf("%s expects %s (got %d argument%s)", name, what, len(args), plural(len(args)))
		}
		return nil
	}
}

// minimumArgs is cobra.MinimumNArgs with a message that names what is
// expected.
func minimumArgs(min int, what string) cobra.PositionalArgs {
	return rangeArgs(min, math.MaxInt, what)
}
