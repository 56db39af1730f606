mod support;

mod harness;
