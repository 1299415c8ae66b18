/**
 * Input a user must fix before a model can be trained (a horizon longer than the data, an all-null target, one class
 * only, ...). `pointer` is a JSON pointer into the training request (e.g. '/horizon', '/target'), so the HTTP layer
 * can answer 400 with a pointer per bad field instead of a 500.
 */
export class TrainingInputError extends Error {
  constructor(
    readonly pointer: string,
    message: string,
  ) {
    super(message);
    this.name = 'TrainingInputError';
  }
}
