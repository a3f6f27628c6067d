export { default } from '@dx/cli-kit/hooks/command-not-found';
