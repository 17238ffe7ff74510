//! The `ksn-setup` program: parses the command line and hands over to the library.

fn main() -> std::process::ExitCode {
    ksn_setup::cli::main()
}
