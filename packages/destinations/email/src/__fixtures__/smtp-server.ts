/**
 * A real SMTP server for tests (`smtp-server`, from nodemailer's authors) on 127.0.0.1 and an
 * ephemeral port. It parses every accepted message with mailparser, can require auth or TLS,
 * and can be told to answer chosen recipients or every command with a given reply.
 */
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { simpleParser, type ParsedMail } from 'mailparser';
import type { AddressInfo } from 'node:net';

export interface ReceivedMail {
  envelope: { from: string; to: string[] };
  parsed: ParsedMail;
  /** Whether the session was encrypted (implicit TLS or STARTTLS). */
  secure: boolean;
  user?: string;
}

/** An SMTP reply to answer with. */
export interface Reply {
  code: number;
  message: string;
}

export interface TestSmtpServer {
  port: number;
  received: ReceivedMail[];
  /** Answer RCPT TO for matching addresses with `reply` (until the returned function is called). */
  rejectRecipients(match: (address: string) => boolean, reply: Reply): () => void;
  /** Answer every MAIL FROM with `reply` (until the returned function is called). */
  failMailFrom(reply: Reply): () => void;
  close(): Promise<void>;
}

export interface TestSmtpServerOptions {
  secure?: boolean;
  /** Require AUTH with these credentials. */
  auth?: { user: string; pass: string };
  /** Offer STARTTLS (default true). */
  startTls?: boolean;
}

function replyError(reply: Reply): Error {
  return Object.assign(new Error(reply.message), { responseCode: reply.code });
}

export async function startSmtpServer(
  options: TestSmtpServerOptions = {},
): Promise<TestSmtpServer> {
  const received: ReceivedMail[] = [];
  const recipientRules: { match: (address: string) => boolean; reply: Reply }[] = [];
  let mailFromReply: Reply | undefined;
  const serverOptions: SMTPServerOptions = {
    secure: options.secure ?? false,
    logger: false,
    authOptional: options.auth === undefined,
    disabledCommands: options.startTls === false ? ['STARTTLS'] : [],
    hideSTARTTLS: options.startTls === false,
    size: 50 * 1024 * 1024,
    onAuth(auth, _session, callback) {
      if (
        options.auth &&
        auth.username === options.auth.user &&
        auth.password === options.auth.pass
      )
        callback(null, { user: auth.username });
      else
        callback(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }));
    },
    onMailFrom(_address, _session, callback) {
      callback(mailFromReply ? replyError(mailFromReply) : undefined);
    },
    onRcptTo(address, _session, callback) {
      const rule = recipientRules.find((r) => r.match(address.address));
      callback(rule ? replyError(rule.reply) : undefined);
    },
    onData(stream, session, callback) {
      simpleParser(stream)
        .then((parsed) => {
          received.push({
            envelope: {
              from: session.envelope.mailFrom === false ? '' : session.envelope.mailFrom.address,
              to: session.envelope.rcptTo.map((r) => r.address),
            },
            parsed,
            secure: session.secure,
            ...(typeof session.user === 'string' ? { user: session.user } : {}),
          });
          callback();
        })
        .catch((err: Error) => callback(err));
    },
  };
  const server = new SMTPServer(serverOptions);
  server.on('error', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return {
    port,
    received,
    rejectRecipients(match, reply) {
      const rule = { match, reply };
      recipientRules.push(rule);
      return () => void recipientRules.splice(recipientRules.indexOf(rule), 1);
    },
    failMailFrom(reply) {
      mailFromReply = reply;
      return () => {
        mailFromReply = undefined;
      };
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
